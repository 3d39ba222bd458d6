import { beforeAll, describe, expect, it } from "vitest";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { TABLE_SHAPE } from "../functions/adapters/dynamo/table.ts";
import { METRICS } from "../functions/settings.ts";
import { installSstRecorder, type Recorded } from "./support/sst-recorder.ts";

const root = join(import.meta.dirname, "..");
let components: Recorded[];
type AppConfig = { name: string; home: string; removal: string; protect: boolean; providers: { aws: { region: string } } };
let appConfig: AppConfig;
let app: (input: { stage: string }) => AppConfig;

beforeAll(async () => {
  const recorder = installSstRecorder();
  // Imported by path so that the type checker does not follow it: sst.config.ts is checked against
  // SST's real types by `npm run check:infra`, not by the project's tsconfig.
  const configPath = join(root, "sst.config.ts");
  const config = ((await import(configPath)) as { default: unknown }).default as unknown as { app(input: { stage: string }): AppConfig; run(): Promise<unknown> };
  app = (input) => config.app(input);
  appConfig = config.app({ stage: "dev" });
  await config.run();
  components = recorder.components;
});

const ofType = (type: string) => components.filter((component) => component.type === type);
const named = (name: string) => components.find((component) => component.name === name)!;

function handlers(): { handler: string; args: Record<string, unknown> }[] {
  const found: { handler: string; args: Record<string, unknown> }[] = [];
  for (const component of components) {
    if (typeof component.args.handler === "string") found.push({ handler: component.args.handler, args: component.args });
    for (const { subscriber } of component.subscriptions) found.push({ handler: subscriber.handler as string, args: subscriber });
    for (const { handler } of component.routes) {
      // A route given a function's ARN shares that function (checked with the functions themselves).
      if (typeof handler !== "string") found.push({ handler: handler.handler as string, args: handler });
    }
    const fn = component.args.function as Record<string, unknown> | undefined;
    if (fn !== undefined) found.push({ handler: fn.handler as string, args: fn });
  }
  return found;
}

describe("sst.config.ts wiring", () => {
  it("names the app, keeps production data and removes the rest", () => {
    expect(appConfig).toMatchObject({ name: "headway", home: "aws", removal: "remove", protect: false });
    expect(app({ stage: "production" })).toMatchObject({ removal: "retain", protect: true });
  });

  it("deploys to HEADWAY_REGION (us-east-1 when unset), and names a Region that cannot be one", () => {
    const before = process.env.HEADWAY_REGION;
    try {
      delete process.env.HEADWAY_REGION;
      expect(app({ stage: "dev" }).providers.aws.region).toBe("us-east-1");
      process.env.HEADWAY_REGION = "eu-central-1";
      expect(app({ stage: "dev" }).providers.aws.region).toBe("eu-central-1");
      process.env.HEADWAY_REGION = "Frankfurt";
      expect(() => app({ stage: "dev" })).toThrow(/HEADWAY_REGION must be an AWS Region such as eu-west-1, not "Frankfurt"/);
    } finally {
      if (before === undefined) delete process.env.HEADWAY_REGION;
      else process.env.HEADWAY_REGION = before;
    }
  });

  it("points every handler at a file that exports it", async () => {
    const all = handlers();
    expect(all.length).toBeGreaterThanOrEqual(2);
    for (const { handler } of all) {
      const [file, exported] = [handler.slice(0, handler.lastIndexOf(".")), handler.slice(handler.lastIndexOf(".") + 1)];
      const path = join(root, `${file}.ts`);
      expect(existsSync(path), `${path} exists`).toBe(true);
      const module = (await import(path)) as Record<string, unknown>;
      expect(typeof module[exported], `${handler} is exported`).toBe("function");
    }
  });

  it("runs every Lambda on nodejs24.x", () => {
    for (const fn of ofType("sst.aws.Function")) expect(fn.args.runtime).toBe("nodejs24.x");
  });

  it("subscribes the reducer to the events queue with partial batch responses and a DLQ", () => {
    const events = named("Events");
    expect(events.subscriptions).toHaveLength(1);
    const [{ subscriber, args }] = events.subscriptions as [Recorded["subscriptions"][number]];
    expect(subscriber.handler).toBe("functions/entry/reducer.handler");
    expect(args.batch).toMatchObject({ partialResponses: true });
    expect((events.args.dlq as { queue: string }).queue).toBe("${EventsDlq.arn}");
  });

  it("gives the events queue a visibility timeout of at least 6× the reducer's timeout", () => {
    const events = named("Events");
    const seconds = (text: string) => Number(/^(\d+) seconds?$/.exec(text)?.[1]);
    const timeout = seconds(events.subscriptions[0]!.subscriber.timeout as string);
    expect(seconds(events.args.visibilityTimeout as string)).toBeGreaterThanOrEqual(6 * timeout);
  });

  it("declares the table with the keys and TTL attribute the store uses", () => {
    const table = named("Progress");
    expect(table.args.primaryIndex).toEqual({ hashKey: TABLE_SHAPE.partitionKey, rangeKey: TABLE_SHAPE.sortKey });
    expect(table.args.ttl).toBe(TABLE_SHAPE.ttlAttribute);
  });

  it("reaps an expired job: the table's stream carries deleted items' old images to the reaper, filtered to TTL's deletions of heads", () => {
    const table = named("Progress");
    expect(table.args.stream).toBe("old-image");
    expect(table.subscriptions).toHaveLength(1);
    const [{ name, subscriber, args }] = table.subscriptions as [Recorded["subscriptions"][number]];
    expect(name).toBe("Reaper");
    expect(subscriber.handler).toBe("functions/entry/reaper.handler");
    expect(args.filters).toEqual([{ eventName: ["REMOVE"], userIdentity: { type: ["Service"], principalId: ["dynamodb.amazonaws.com"] }, dynamodb: { Keys: { sk: { S: ["HEAD"] } } } }]);
  });

  it("routes every WebSocket route to the one WebSocket function, linked to the API it posts to", () => {
    const ws = named("Ws");
    expect(ws.routes.map((route) => route.route).sort()).toEqual(["$connect", "$default", "$disconnect", "ping", "subscribe", "unsubscribe"]);
    for (const route of ws.routes) expect(route.handler).toBe("${WsRoutes.arn}");
    const fn = named("WsRoutes");
    expect(fn.args.handler).toBe("functions/entry/websocket.handler");
    expect(fn.args.link).toEqual(expect.arrayContaining([expect.objectContaining({ recorded: expect.objectContaining({ name: "Ws" }) })]));
  });

  it("starts the ticker every minute with CronV2, linked to the table and the WebSocket API", () => {
    const ticker = named("Ticker");
    expect(ticker.type).toBe("sst.aws.CronV2");
    expect(ticker.args.schedule).toBe("rate(1 minute)");
    const fn = ticker.args.function as { handler: string; link: { recorded: { name: string } }[] };
    expect(fn.handler).toBe("functions/entry/ticker.handler");
    expect(fn.link.map((linked) => linked.recorded.name).sort()).toEqual(["Progress", "Webhooks", "Ws"]);
    // Webhook bodies name the job's snapshot on the API as `status_url`.
    expect((ticker.args.function as { environment: Record<string, string> }).environment.HEADWAY_PUBLIC_URL).toBe("${Api.url}");
  });

  it("sends webhooks from their own queue, with partial responses and a DLQ, signing with the tenants' secrets from the table", () => {
    const queue = named("Webhooks");
    expect(queue.subscriptions[0]!.subscriber.handler).toBe("functions/entry/webhook-sender.handler");
    expect(queue.subscriptions[0]!.args.batch).toMatchObject({ partialResponses: true });
    expect((queue.args.dlq as { queue: string }).queue).toBe("${WebhooksDlq.arn}");
    const subscriber = queue.subscriptions[0]!.subscriber as { environment: Record<string, string>; link: { recorded: { name: string } }[] };
    expect(subscriber.environment.HEADWAY_WEBHOOK_SECRET).toBeUndefined();
    expect(subscriber.link.map((linked) => linked.recorded.name).sort()).toEqual(["Progress", "Webhooks"]);
    expect(components.some((component) => component.name === "WebhookSigningKey")).toBe(false);
  });

  it("serves the HTTP API through a streaming Function URL", () => {
    const api = named("Api");
    expect(api.args).toMatchObject({ handler: "functions/entry/api.handler", streaming: true });
  });

  it("lets a page on another origin call the HTTP API with an API key", () => {
    const cors = (named("Api").args.url as { cors: { allowOrigins: string[]; allowHeaders: string[] } }).cors;
    expect(cors.allowOrigins).toEqual(["*"]);
    expect(cors.allowHeaders).toContain("authorization");
  });

  it("publishes the dashboard as a static site built with the stage's API URLs", () => {
    const site = named("Dashboard");
    expect(site.type).toBe("sst.aws.StaticSite");
    expect(site.args).toMatchObject({ build: { command: "npm run build:dashboard", output: "web/dist" }, environment: { HEADWAY_API_URL: "${Api.url}", HEADWAY_WEBSOCKET_URL: "${Ws.url}" } });
    expect(existsSync(join(root, "web", "build.ts"))).toBe(true);
  });

  it("gives every function the configuration the code reads", () => {
    const config = readFileSync(join(root, "functions", "config.ts"), "utf8");
    const requiredNames = [...config.matchAll(/required\("([A-Z_]+)"\)/g)].map((match) => match[1]!);
    expect(requiredNames).toContain("HEADWAY_TABLE_NAME");
    for (const { handler, args } of handlers()) {
      const environment = (args.environment ?? {}) as Record<string, string>;
      expect(environment.HEADWAY_TABLE_NAME, `${handler} gets the table`).toBe("${Progress.name}");
      const source = readFileSync(join(root, `${handler.slice(0, handler.lastIndexOf("."))}.ts`), "utf8");
      const reads = (getter: string, variable: string) => {
        if (source.includes(`config.${getter}()`)) expect(environment[variable], `${handler} reads ${variable}`).toBeDefined();
      };
      reads("eventsQueueUrl", "HEADWAY_EVENTS_QUEUE_URL");
      reads("tokenSecret", "HEADWAY_TOKEN_SECRET");
      reads("websocketManagementEndpoint", "HEADWAY_WS_MANAGEMENT_ENDPOINT");
      reads("webhookQueueUrl", "HEADWAY_WEBHOOK_QUEUE_URL");
    }
    expect((named("Api").args.environment as Record<string, string>).HEADWAY_TOKEN_SECRET).toBe("${TokenSigningKey.value}");
    expect(named("TokenSigningKey").type).toBe("sst.Secret");
  });

  it("gives the HTTP API the admin token (and no other function)", () => {
    expect(named("AdminToken").type).toBe("sst.Secret");
    for (const { handler, args } of handlers()) {
      const environment = (args.environment ?? {}) as Record<string, string>;
      expect(environment.HEADWAY_ADMIN_TOKEN, handler).toBe(handler === "functions/entry/api.handler" ? "${AdminToken.value}" : undefined);
    }
  });
});

describe("alarms (infra/alarms.ts)", () => {
  const alarms = () => ofType("aws.cloudwatch.MetricAlarm");
  const alarm = (name: string) => {
    const found = alarms().find((component) => component.name === name);
    expect(found, `alarm ${name}`).toBeDefined();
    return found!.args as Record<string, unknown>;
  };

  it("alarms when any DLQ holds a message, on SQS's own metric", () => {
    for (const [name, queue] of [["EventsDlqDepth", "EventsDlq"], ["WebhooksDlqDepth", "WebhooksDlq"], ["TickerDlqDepth", "TickerDlq"]] as const) {
      expect(alarm(name)).toMatchObject({
        namespace: "AWS/SQS",
        metricName: "ApproximateNumberOfMessagesVisible",
        dimensions: { QueueName: `\${${queue}.nodes.queue.name}` },
        comparisonOperator: "GreaterThanThreshold",
        threshold: 0,
      });
    }
  });

  it("alarms on the functions' metrics of this stage: ingest lag, tick overrun, webhook give-ups", () => {
    const ours = { namespace: METRICS.namespace, dimensions: { service: METRICS.service, stage: "test" } };
    expect(alarm("IngestLag")).toMatchObject({ ...ours, metricName: "IngestLag", statistic: "Maximum", period: 60, evaluationPeriods: 5, comparisonOperator: "GreaterThanThreshold", threshold: 60_000 });
    expect(alarm("TickOverrun")).toMatchObject({ ...ours, metricName: "TickDuration", statistic: "Maximum", comparisonOperator: "GreaterThanThreshold", threshold: 2000 });
    expect(alarm("WebhookGiveUps")).toMatchObject({ ...ours, metricName: "WebhookGiveUps", statistic: "Sum", comparisonOperator: "GreaterThanThreshold", threshold: 0 });
    expect(alarm("EventsQueueAge")).toMatchObject({ namespace: "AWS/SQS", metricName: "ApproximateAgeOfOldestMessage", dimensions: { QueueName: "${Events.nodes.queue.name}" } });
    // Every alarm on our namespace names a metric the functions write, in the unit they write it in.
    for (const { args } of alarms().filter((component) => component.args.namespace === METRICS.namespace)) {
      expect(Object.keys(METRICS.units)).toContain(args.metricName);
    }
  });

  it("notifies one SNS topic, mailed only when HEADWAY_ALARM_EMAIL is set", () => {
    expect(named("Alarms").type).toBe("sst.aws.SnsTopic");
    expect(alarms().length).toBeGreaterThanOrEqual(7);
    for (const { name, args } of alarms()) {
      expect(args.alarmActions, name).toEqual(["${Alarms.arn}"]);
      expect(args.treatMissingData, name).toBe("notBreaching");
    }
    const subscriptions = ofType("aws.sns.TopicSubscription");
    if (process.env.HEADWAY_ALARM_EMAIL) expect(subscriptions[0]!.args).toMatchObject({ topic: "${Alarms.arn}", protocol: "email", endpoint: process.env.HEADWAY_ALARM_EMAIL });
    else expect(subscriptions).toEqual([]);
  });

  it("gives the functions their stage, the dimension the alarms select", () => {
    for (const fn of ofType("sst.aws.Function")) expect((fn.args.environment as Record<string, string>).HEADWAY_STAGE, fn.name).toBe("test");
  });
});
