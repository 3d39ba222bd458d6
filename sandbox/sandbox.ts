/**
 * The whole service on one machine: the emulators, the table and queues, the reducer behind a
 * stand-in for the SQS event source mapping, and the HTTP API — the same handlers as on AWS,
 * wired to loopback. State lives under `dataDir` (default `.headway/`) unless `memory` is set,
 * so that events the API acknowledged survive a restart.
 */
import { serve, type ServerType } from "@hono/node-server";
import { Hono } from "hono";
import type { SQSBatchResponse, SQSEvent } from "aws-lambda";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import type { Poster } from "../core/ports.ts";
import { createAwsClients } from "../functions/adapters/aws-clients.ts";
import type { StoreMetrics } from "../functions/adapters/dynamo/store.ts";
import { ensureTable } from "../functions/adapters/dynamo/table.ts";
import { defaultPostThreads } from "../functions/adapters/ws-poster-pool.ts";
import { createServices, type Runtime, type Services } from "../functions/composition.ts";
import type { Config, Log } from "../functions/config.ts";
import { createMemoryMetrics, type MemoryMetrics } from "../functions/metrics.ts";
import { DEFAULT_TENANT, EVENTS, SANDBOX_TABLE_NAME, TICKER, WEBHOOKS } from "../functions/settings.ts";
import { ALL_SCOPES } from "../core/contract/admin.ts";
import { SWEEP_EVERY_MS } from "../functions/connection-sweep.ts";
import type { Ticker, TickReport } from "../functions/ticker/index.ts";
import { metricsApi } from "./metrics-api.ts";
import { createDashboardApp } from "./dashboard.ts";
import { startWebSocketGateway, type WebSocketGateway } from "./websocket-gateway.ts";
import { createQueueWithDlq, startDynamoDbEmulator, startSqsEmulator, type Emulator, type QueueWithDlq } from "./emulators.ts";
import { startSqsPoller, type SqsPoller } from "./sqs-poller.ts";

export interface SandboxOptions {
  /** First port: HTTP on it, DynamoDB on +1, SQS on +2, WebSocket on +3. 0 picks free ports for everything. */
  port: number;
  /** Keep everything in memory instead of under `dataDir`. */
  memory: boolean;
  dataDir: string;
  log: Log;
  /** Reducer batching: the event source mapping's (functions/settings.ts) unless a test or bench says otherwise. */
  batchSize?: number;
  batchingWindowMs?: number;
  visibilityTimeoutSeconds?: number;
  /**
   * Reducer batches at once; 0 runs no reducer (events wait in the queue). One by default: the
   * reducer shares one Node thread with the API and the ticker, so a second batch adds little
   * CPU and many lost races on hot jobs (bench/pipeline.ts, measured when everything shared one
   * thread: 12,000 vs 9,200 events/s, 0.043 vs 0.070 WCU per event).
   */
  reducerConcurrency?: number;
  pendingUnknownJobSeconds?: number;
  /** The ticker's interval (functions/settings.ts, as in the cloud); 0 runs no ticker. */
  tickMs?: number;
  onTick?: (report: TickReport) => void;
  /** How often WebSockets whose token lapsed are looked for and closed (functions/connection-sweep.ts); 0 never. */
  sweepEveryMs?: number;
  /** Tests: how long the API trusts a key it saw work, and the update streams' timings (the cloud's unless given). */
  apiKeyCacheMs?: number;
  streams?: Runtime["streams"];
  /** Threads the ticker posts from (one per core beyond the first by default). */
  postThreads?: number;
  /**
   * Stands between the ticker and its poster (the pool); the fan-out benchmark records each
   * tick's deliveries there and posts them again through the same pool as its floor.
   */
  wrapTickerPoster?: (poster: Poster) => Poster;
}

export interface Sandbox {
  http: string;
  /** The dashboard page (web/), served on the HTTP port. */
  dashboard: string;
  websocket: string | null;
  sqsEndpoint: string;
  queueUrl: string;
  dlqUrl: string;
  dynamodbEndpoint: string;
  tableName: string;
  apiKey: string;
  /** The admin API's credential (`Authorization: Bearer` on /v1/admin), kept under `dataDir` like the other secrets. */
  adminToken: string;
  /** The development tenant's current webhook secret when the sandbox started (`GET /v1/webhook-secret` has it later). */
  webhookSecret: string;
  storeMetrics: StoreMetrics;
  /** Frames posted through the WebSocket gateway's management endpoint. */
  gatewayStats: { posts: number };
  reducerStats: { batches: number; messages: number; failed: number };
  /** What the functions recorded (the deployment writes them to CloudWatch); served at `GET /v1/metrics`. */
  metrics: MemoryMetrics;
  /** The services as wired by the composition root (tests reach adapters through it). */
  services: Services;
  /** Cuts every WebSocket client connection at once, as a network failure would (for tests); resolves with how many. */
  dropWebSocketConnections(): Promise<number>;
  /** The reducer handler the event source invokes (the pipeline benchmark drives it with fixed batches). */
  reduce: (event: SQSEvent) => Promise<SQSBatchResponse>;
  stop(): Promise<void>;
}

export const TENANT = DEFAULT_TENANT;
const TABLE_NAME = SANDBOX_TABLE_NAME;
const QUEUE_NAME = "headway-events";
const WEBHOOK_QUEUE_NAME = "headway-webhooks";

type Closable = { close(): Promise<void> };

/** A secret kept in the data directory so that it survives restarts (made fresh in memory mode). */
function persistentSecret(dataDir: string | undefined, file: string, make: () => string): string {
  if (dataDir === undefined) return make();
  const path = join(dataDir, file);
  if (existsSync(path)) return readFileSync(path, "utf8").trim();
  const value = make();
  writeFileSync(path, `${value}\n`, { mode: 0o600 });
  return value;
}

/** The sandbox's local AWS: DynamoDB with the table, SQS with the events and webhook queues (each with its DLQ). */
interface LocalAws {
  dynamo: Emulator;
  sqs: Emulator;
  clients: ReturnType<typeof createAwsClients>;
  eventsQueue: QueueWithDlq;
  webhookQueue: QueueWithDlq;
}

/** Starts the emulators (each pushed on `started` as soon as it runs, so a failure later closes it) and makes the table and queues. */
async function startLocalAws(dataDir: string | undefined, portAt: (offset: number) => number, visibilityTimeoutSeconds: number, started: Closable[]): Promise<LocalAws> {
  const dynamo = await startDynamoDbEmulator({ port: portAt(1), dataDir: dataDir && join(dataDir, "dynamodb") });
  started.push(dynamo);
  const sqs = await startSqsEmulator({ port: portAt(2), dataDir: dataDir && join(dataDir, "sqs") });
  started.push(sqs);
  const clients = createAwsClients({ region: "us-east-1", dynamodbEndpoint: dynamo.endpoint, sqsEndpoint: sqs.endpoint });
  await ensureTable(clients.dynamodb, TABLE_NAME);
  const eventsQueue = await createQueueWithDlq(clients.sqs, QUEUE_NAME, { visibilityTimeoutSeconds, maxReceiveCount: EVENTS.maxReceiveCount });
  const webhookQueue = await createQueueWithDlq(clients.sqs, WEBHOOK_QUEUE_NAME, { visibilityTimeoutSeconds: WEBHOOKS.visibilityTimeoutSeconds, maxReceiveCount: WEBHOOKS.maxReceiveCount });
  return { dynamo, sqs, clients, eventsQueue, webhookQueue };
}

interface SandboxSecrets {
  apiKey: string;
  tokenSecret: string;
  adminToken: string;
}

function sandboxSecrets(dataDir: string | undefined): SandboxSecrets {
  return {
    apiKey: persistentSecret(dataDir, "dev-api-key", () => `hw_dev_${randomBytes(16).toString("hex")}`),
    tokenSecret: persistentSecret(dataDir, "token-secret", () => randomBytes(32).toString("base64url")),
    adminToken: persistentSecret(dataDir, "admin-token", () => `hw_admin_${randomBytes(24).toString("hex")}`),
  };
}

/**
 * The HTTP server (the API; in front of it the sandbox's own `GET /v1/metrics` and the dashboard)
 * and the WebSocket gateway. They start before the services (their URLs are configuration), so
 * they reach them through `services()`, built right after by the composition root as a Lambda's would be.
 */
async function startServers(
  options: SandboxOptions,
  portAt: (offset: number) => number,
  { apiKey, metrics, services }: { apiKey: string; metrics: MemoryMetrics; services: () => Services },
): Promise<{ server: ServerType; httpUrl: string; gateway: WebSocketGateway }> {
  let websocketUrl: string | null = null;
  const site = new Hono()
    .route("/v1/metrics", metricsApi({ metrics, apiKey }))
    .route("/", createDashboardApp({ httpUrl: null, websocketUrl: () => websocketUrl, apiKey, log: options.log }))
    .all("*", (c) => services().api().fetch(c.req.raw));
  const server: ServerType = await new Promise((resolve) => {
    const listening = serve({ fetch: site.fetch, port: portAt(0), hostname: "127.0.0.1" }, () => resolve(listening));
  });
  const httpUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  try {
    const gateway = await startWebSocketGateway({ port: portAt(3), routes: ["subscribe", "unsubscribe", "ping"], handler: (event) => services().ws()(event), log: options.log });
    websocketUrl = gateway.url;
    return { server, httpUrl, gateway };
  } catch (error) {
    server.close();
    throw error;
  }
}

function sandboxConfig(aws: LocalAws, secrets: SandboxSecrets, httpUrl: string, gateway: WebSocketGateway, options: SandboxOptions): Config {
  return {
    region: "us-east-1",
    tableName: TABLE_NAME,
    eventsQueueUrl: () => aws.eventsQueue.url,
    dynamodbEndpoint: aws.dynamo.endpoint,
    sqsEndpoint: aws.sqs.endpoint,
    defaultTenant: DEFAULT_TENANT,
    maxReceiveCount: EVENTS.maxReceiveCount,
    pendingUnknownJobSeconds: options.pendingUnknownJobSeconds ?? EVENTS.pendingUnknownJobSeconds,
    publicUrl: httpUrl,
    websocketUrl: gateway.url,
    tokenSecret: () => secrets.tokenSecret,
    websocketManagementEndpoint: () => gateway.managementEndpoint,
    webhookQueueUrl: () => aws.webhookQueue.url,
    adminToken: () => secrets.adminToken,
  };
}

function sandboxServices(config: Config, metrics: MemoryMetrics, options: SandboxOptions): Services {
  return createServices(config, {
    log: options.log,
    now: Date.now,
    metrics,
    posterCredentials: { credentials: { accessKeyId: "headwaylocal", secretAccessKey: "headwaylocal" }, isUnsigned: true },
    postThreads: options.postThreads ?? defaultPostThreads(),
    ...(options.wrapTickerPoster === undefined ? {} : { wrapTickerPoster: options.wrapTickerPoster }),
    // Loopback receivers are allowed here (the cloud refuses private addresses).
    allowPrivateWebhookTargets: true,
    ...(options.apiKeyCacheMs === undefined ? {} : { apiKeyCacheMs: options.apiKeyCacheMs }),
    ...(options.streams === undefined ? {} : { streams: options.streams }),
  });
}

/** The development tenant and its key, registered like any other (a second start finds them there); answers its webhook secret. */
async function registerDevelopmentTenant(services: Services, apiKey: string): Promise<string> {
  await services.adapters.tenants().create(TENANT);
  // The development key holds every scope: the sandbox is one person's machine, and its key drives
  // the dashboard (read), the SDK examples (ingest) and local webhook tests (the secret: admin).
  await services.admin().ensureKey({ actor: "sandbox" }, apiKey, TENANT, "sandbox development key", ALL_SCOPES);
  // Per tenant, in the table (so under dataDir): the development tenant's is printed as `webhook_secret`.
  return (await services.adapters.webhookSecrets().secretsOf(TENANT))[0]!.secret;
}

/**
 * What Lambda's event sources and schedules do in the cloud: the pollers that stand in for the
 * event source mappings of the webhook and events queues, the ticker's runs, and the sweep of
 * connections whose token lapsed. `stop` ends them, the reducer's batches first.
 */
function startEventSources(services: Services, aws: LocalAws, visibilityTimeoutSeconds: number, options: SandboxOptions) {
  const webhookPoller = startSqsPoller({
    sqs: aws.clients.sqs,
    queueUrl: aws.webhookQueue.url,
    queueArn: aws.webhookQueue.arn,
    handler: services.webhookSender(),
    batchSize: WEBHOOKS.batchSize,
    batchingWindowMs: 0,
    visibilityTimeoutSeconds: WEBHOOKS.visibilityTimeoutSeconds,
    concurrency: 2,
    onError: (error, { stage }) => options.log("error", `webhook event source: ${stage} failed`, { error: String(error) }),
  });
  const reducerStats = { batches: 0, messages: 0, failed: 0 };
  const concurrency = options.reducerConcurrency ?? 1;
  const reducerPoller: SqsPoller | null =
    concurrency === 0
      ? null
      : startSqsPoller({
          sqs: aws.clients.sqs,
          queueUrl: aws.eventsQueue.url,
          queueArn: aws.eventsQueue.arn,
          handler: services.reducer(),
          batchSize: options.batchSize ?? EVENTS.batchSize,
          batchingWindowMs: options.batchingWindowMs ?? EVENTS.batchingWindowSeconds * 1000,
          visibilityTimeoutSeconds,
          concurrency,
          onBatch: ({ messages, failed }) => {
            reducerStats.batches++;
            reducerStats.messages += messages;
            reducerStats.failed += failed;
          },
          onError: (error, { stage, messageIds }) => options.log("error", `reducer event source: ${stage} failed`, { error: String(error), messages: messageIds.length }),
        });
  const ticking = startTicking(services.ticker(), options.tickMs ?? TICKER.intervalMs, options.onTick);
  // As the ticker's Lambda does beside its ticks: close connections whose token lapsed.
  const sweeping = new AbortController();
  const sweep = options.sweepEveryMs === 0 ? Promise.resolve() : services.connectionSweep().run({ everyMs: options.sweepEveryMs ?? SWEEP_EVERY_MS, durationMs: Infinity, signal: sweeping.signal });
  return {
    reducerStats,
    async stop() {
      await reducerPoller?.stop();
      await ticking.stop();
      sweeping.abort();
      await sweep;
      await webhookPoller.stop();
    },
  };
}

export async function startSandbox(options: SandboxOptions): Promise<Sandbox> {
  const dataDir = options.memory ? undefined : options.dataDir;
  if (dataDir !== undefined) mkdirSync(dataDir, { recursive: true });
  const portAt = (offset: number) => (options.port === 0 ? 0 : options.port + offset);
  const started: Closable[] = [];
  try {
    const visibilityTimeoutSeconds = options.visibilityTimeoutSeconds ?? EVENTS.visibilityTimeoutSeconds;
    const aws = await startLocalAws(dataDir, portAt, visibilityTimeoutSeconds, started);
    const secrets = sandboxSecrets(dataDir);
    const metrics = createMemoryMetrics();
    let services: Services | undefined;
    const { server, httpUrl, gateway } = await startServers(options, portAt, { apiKey: secrets.apiKey, metrics, services: () => services! });
    started.push(gateway);
    services = sandboxServices(sandboxConfig(aws, secrets, httpUrl, gateway, options), metrics, options);
    const webhookSecret = await registerDevelopmentTenant(services, secrets.apiKey);
    started.push(services.adapters.tickerPoster());
    const eventSources = startEventSources(services, aws, visibilityTimeoutSeconds, options);

    return {
      http: httpUrl,
      dashboard: `${httpUrl}/dashboard/`,
      websocket: gateway.url,
      sqsEndpoint: aws.sqs.endpoint,
      queueUrl: aws.eventsQueue.url,
      dlqUrl: aws.eventsQueue.dlqUrl,
      dynamodbEndpoint: aws.dynamo.endpoint,
      tableName: TABLE_NAME,
      apiKey: secrets.apiKey,
      adminToken: secrets.adminToken,
      webhookSecret,
      storeMetrics: services.adapters.store().metrics as StoreMetrics,
      services,
      gatewayStats: gateway.stats,
      reducerStats: eventSources.reducerStats,
      dropWebSocketConnections: () => gateway.dropAll(),
      reduce: services.reducer(),
      metrics,
      async stop() {
        // New requests stop first, then the reducer finishes its batches, then the emulators close.
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        (server as { closeIdleConnections?: () => void }).closeIdleConnections?.();
        await closed;
        await eventSources.stop();
        await services!.close();
        aws.clients.sqs.destroy();
        aws.clients.dynamodb.destroy();
        for (const emulator of started.reverse()) await emulator.close();
      },
    };
  } catch (error) {
    for (const emulator of started.reverse()) await emulator.close().catch(() => {});
    throw error;
  }
}

/**
 * The cloud starts the ticker every minute and it ticks every ~2 s; the sandbox runs it the same
 * way for as long as it runs.
 */
function startTicking(ticker: Ticker, intervalMs: number, onTick?: (report: TickReport) => void): { stop(): Promise<void> } {
  if (intervalMs === 0) return { stop: async () => {} };
  const stopping = new AbortController();
  const running = ticker.run({ intervalMs, durationMs: Infinity, signal: stopping.signal, onTick: (report) => {
      if (report.ticked) onTick?.(report);
    } });
  return {
    async stop() {
      stopping.abort();
      await running;
    },
  };
}
