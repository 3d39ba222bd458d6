/**
 * A recording stand-in for SST's globals (`$config`, `sst.aws.*`, `$transform`, …): loading
 * sst.config.ts and running its `run()` with it records every component and its arguments, so
 * a test can check the wiring without Pulumi or AWS.
 */
export interface Recorded {
  type: string;
  name: string;
  args: Record<string, unknown>;
  subscriptions: { name?: string; subscriber: Record<string, unknown>; args: Record<string, unknown> }[];
  routes: { route: string; handler: Record<string, unknown>; args: Record<string, unknown> }[];
}

export function installSstRecorder(stage = "test") {
  const components: Recorded[] = [];
  const transforms: { type: string; transform: (args: Record<string, unknown>) => void }[] = [];
  const output = (component: string, property: string) => `\${${component}.${property}}`;

  const componentClass = (type: string) =>
    class {
      readonly recorded: Recorded;
      constructor(name: string, args: Record<string, unknown> = {}) {
        for (const transform of transforms) if (transform.type === type) transform.transform(args);
        this.recorded = { type, name, args, subscriptions: [], routes: [] };
        components.push(this.recorded);
      }
      get name() { return output(this.recorded.name, "name"); }
      get arn() { return output(this.recorded.name, "arn"); }
      get url() { return output(this.recorded.name, "url"); }
      get value() { return output(this.recorded.name, "value"); }
      get managementEndpoint() { return output(this.recorded.name, "managementEndpoint"); }
      get nodes() { return { queue: { name: output(this.recorded.name, "nodes.queue.name") } }; }
      /** A queue's `subscribe(subscriber, args)`, or a table's `subscribe(name, subscriber, args)`. */
      subscribe(...call: unknown[]) {
        const [name, subscriber, args] = (typeof call[0] === "string" ? call : [undefined, ...call]) as [string | undefined, Record<string, unknown>, Record<string, unknown> | undefined];
        this.recorded.subscriptions.push({ ...(name === undefined ? {} : { name }), subscriber, args: args ?? {} });
        return { subscriber };
      }
      route(route: string, handler: Record<string, unknown>, args: Record<string, unknown> = {}) {
        this.recorded.routes.push({ route, handler, args });
        return {};
      }
    };

  const classes = {
    Dynamo: componentClass("sst.aws.Dynamo"),
    Queue: componentClass("sst.aws.Queue"),
    Function: componentClass("sst.aws.Function"),
    ApiGatewayWebSocket: componentClass("sst.aws.ApiGatewayWebSocket"),
    CronV2: componentClass("sst.aws.CronV2"),
    SnsTopic: componentClass("sst.aws.SnsTopic"),
    StaticSite: componentClass("sst.aws.StaticSite"),
  };
  const globals = globalThis as Record<string, unknown>;
  globals.$config = (config: unknown) => config;
  globals.sst = { aws: classes, Secret: componentClass("sst.Secret") };
  // Pulumi's AWS resources, as infra/ reaches them through SST's `aws` global.
  globals.aws = {
    cloudwatch: { MetricAlarm: componentClass("aws.cloudwatch.MetricAlarm") },
    sns: { TopicSubscription: componentClass("aws.sns.TopicSubscription") },
  };
  globals.$output = (value: unknown) => ({ apply: (transform: (value: unknown) => unknown) => transform(value) });
  globals.$app = { name: "headway", stage };
  globals.$dev = false;
  globals.$interpolate = (strings: TemplateStringsArray, ...values: unknown[]) => strings.reduce((text, part, i) => text + part + (i < values.length ? String(values[i]) : ""), "");
  globals.$transform = (cls: unknown, transform: (args: Record<string, unknown>) => void) => {
    const type = Object.entries(classes).find(([, value]) => value === cls)?.[0];
    transforms.push({ type: `sst.aws.${type}`, transform });
  };
  return { components };
}
