/**
 * The composition root: the one place that builds adapters from a configuration and wires them
 * into the services (reducer, ticker, WebSocket routes, HTTP API, webhook sender). The Lambda
 * entry points call it with the environment's configuration, the sandbox with its emulators',
 * tests with theirs; nothing else wires adapters by hand. Each adapter and service is built on
 * first use, so a Lambda builds only what it runs (and reads only the settings it needs).
 */
import type { Hono } from "hono";
import type { DynamoDBStreamEvent, SQSBatchResponse, SQSEvent } from "aws-lambda";
import { createAwsClients } from "./adapters/aws-clients.ts";
import { createDynamoApiKeys } from "./adapters/dynamo/api-keys.ts";
import { createDynamoAuditLog } from "./adapters/dynamo/audit.ts";
import { createDynamoConnections, createDynamoSubscriptions } from "./adapters/dynamo/connections.ts";
import { createDynamoLease } from "./adapters/dynamo/lease.ts";
import { createDynamoStore } from "./adapters/dynamo/store.ts";
import { createDynamoStreamSlots } from "./adapters/dynamo/stream-slots.ts";
import { createDynamoTenants } from "./adapters/dynamo/tenants.ts";
import { createDynamoWebhookLog } from "./adapters/dynamo/webhook-log.ts";
import { createDynamoWebhookEndpoints } from "./adapters/dynamo/webhook-endpoints.ts";
import { createDynamoWebhookSecrets } from "./adapters/dynamo/webhook-secrets.ts";
import { createSqsPublisher, createSqsWebhookQueue } from "./adapters/sqs-publisher.ts";
import { createHttpWebhookTransport, type WebhookTransport } from "./adapters/webhook-http.ts";
import { createWsPoster, type WsPosterOptions } from "./adapters/ws-poster.ts";
import { createWsPosterPool } from "./adapters/ws-poster-pool.ts";
import { createEmfMetrics } from "./adapters/emf-metrics.ts";
import { createAdmin, type Admin } from "./admin.ts";
import { createAdminApp } from "./api/admin.ts";
import { createConnectionSweep, type ConnectionSweep } from "./connection-sweep.ts";
import { createApp, type ApiDeps, type ApiEnv } from "./api/index.ts";
import { createWebhookChannel } from "./ticker/channels/webhooks.ts";
import { createWebSocketChannel } from "./ticker/channels/websocket.ts";
import { environmentConfig, jsonLog, type Config, type Log } from "./config.ts";
import { createMemoryMetrics, type Metrics } from "./metrics.ts";
import { createReaper } from "./reaper.ts";
import { createReducerHandler } from "./reducer/index.ts";
import { createTicker, type Ticker } from "./ticker/index.ts";
import { createWebhookSender } from "./webhook-sender.ts";
import { createWsHandler, type WebSocketEvent, type WebSocketResult } from "./websocket-routes.ts";
import type { Poster, WebhookSecrets } from "../core/ports.ts";
import { statusUrlOf } from "../core/delivery/webhooks.ts";

/** What differs between a deployment and a machine of one's own, beyond the configuration. */
export interface Runtime {
  log: Log;
  now: () => number;
  /** Where metrics go: EMF lines on Lambda, memory in the sandbox (kept, and discarded, in memory when absent). */
  metrics?: Metrics;
  /** The sandbox's gateway takes unsigned requests with any credentials. */
  posterCredentials?: Pick<WsPosterOptions, "credentials" | "isUnsigned">;
  /** Threads the ticker posts from (worker threads pay off only with more than one vCPU). */
  postThreads?: number;
  /** Wraps the ticker's poster (the fan-out benchmark measures the posts a tick makes). */
  wrapTickerPoster?: (poster: Poster) => Poster;
  /** Webhook receivers on private addresses are refused in the cloud; the sandbox allows loopback. */
  allowPrivateWebhookTargets?: boolean;
  /** Replaces the HTTP webhook transport (tests). */
  webhookTransport?: WebhookTransport;
  pendingUnknownJobSeconds?: number;
  /** How long a process trusts a key it saw work (API_KEY_CACHE_MS unless a test wants revocation to bite sooner). */
  apiKeyCacheMs?: number;
  /** The update streams' timings and bounds (functions/settings.ts STREAMS unless a test says otherwise). */
  streams?: ApiDeps["streams"];
}

export interface Services {
  adapters: ReturnType<typeof createAdapters>;
  reducer(): (event: SQSEvent) => Promise<SQSBatchResponse>;
  ticker(): Ticker;
  ws(): (event: WebSocketEvent) => Promise<WebSocketResult>;
  /** Removes what a job owned once TTL deleted its head (the table's stream subscription). */
  reaper(): (event: DynamoDBStreamEvent) => Promise<{ jobs: number; items: number }>;
  /** Closes WebSockets whose token expired or whose key was revoked (run beside the ticker). */
  connectionSweep(): ConnectionSweep;
  api(): Hono<ApiEnv>;
  /** Tenants and keys administered (the admin API's and the admin CLI's operations, audited). */
  admin(): Admin;
  webhookSender(): (event: SQSEvent) => Promise<SQSBatchResponse>;
  /** The ticker's poster (a pool of threads when asked for): close it when done. */
  close(): Promise<void>;
}

function once<T>(build: () => T): () => T {
  let built: { value: T } | undefined;
  return () => (built ??= { value: build() }).value;
}

export function createAdapters(config: Config, runtime: Runtime) {
  /** The audited operations, for adapters that make a change by themselves (built on first use, from these adapters). */
  const audited: () => Admin = once(() => createAdmin({ tenants: adapters.tenants(), apiKeys: adapters.apiKeys(), webhookSecrets: adapters.webhookSecrets(), audit: adapters.auditLog(), log: runtime.log, now: runtime.now }));
  const clients = once(() => createAwsClients(config));
  const table = () => ({ client: clients().dynamodb, tableName: config.tableName, now: runtime.now });
  const posterOptions = (): WsPosterOptions => ({ endpoint: config.websocketManagementEndpoint(), region: config.region, ...runtime.posterCredentials });
  const store = once(() => createDynamoStore(table()));
  const adapters = {
    audited,
    clients,
    store,
    changeFeed: () => store().changeFeed,
    rejections: () => store().rejections,
    jobIndex: () => store().jobIndex,
    apiKeys: once(() => createDynamoApiKeys({ ...table(), ...(runtime.apiKeyCacheMs === undefined ? {} : { cacheMs: runtime.apiKeyCacheMs }) })),
    tenants: once(() => createDynamoTenants(table())),
    auditLog: once(() => createDynamoAuditLog(table())),
    connections: once(() => createDynamoConnections(table())),
    subscriptions: once(() => createDynamoSubscriptions(table())),
    streamSlots: once(() => createDynamoStreamSlots(table())),
    webhookLog: once(() => createDynamoWebhookLog(table())),
    // A tenant's first secret is made on first use: audited as every change of a secret is.
    webhookSecrets: once((): WebhookSecrets => createDynamoWebhookSecrets({ ...table(), onSecretMade: (tenant) => audited().webhookSecretCreated(tenant) })),
    webhookEndpoints: once(() => createDynamoWebhookEndpoints(table())),
    lease: once(() => createDynamoLease({ ...table(), name: "ticker" })),
    events: once(() => createSqsPublisher({ client: clients().sqs, queueUrl: config.eventsQueueUrl() })),
    webhookQueue: once(() => createSqsWebhookQueue({ client: clients().sqs, queueUrl: config.webhookQueueUrl() })),
    poster: once((): Poster => createWsPoster(posterOptions())),
    tickerPoster: once(() => createWsPosterPool({ ...posterOptions(), threads: runtime.postThreads ?? 0 })),
    webhookTransport: once(() => runtime.webhookTransport ?? createHttpWebhookTransport({ allowPrivateAddresses: runtime.allowPrivateWebhookTargets ?? false })),
  };
  return adapters;
}

export function createServices(config: Config, runtime: Runtime): Services {
  const adapters = createAdapters(config, runtime);
  const { log, now } = runtime;
  const metrics = runtime.metrics ?? createMemoryMetrics();
  const ticker = once(() =>
    createTicker({
      store: adapters.store(),
      changeFeed: adapters.changeFeed(),
      lease: adapters.lease(),
      channels: [
        createWebSocketChannel({ subscriptions: adapters.subscriptions(), connections: adapters.connections(), poster: runtime.wrapTickerPoster?.(adapters.tickerPoster()) ?? adapters.tickerPoster() }),
        createWebhookChannel({ log: adapters.webhookLog(), queue: adapters.webhookQueue(), now, statusUrlOf: (jobId) => statusUrlOf(config.publicUrl ?? "", jobId) }),
      ],
      log,
      metrics,
      now,
    }),
  );
  const admin = adapters.audited;
  return {
    adapters,
    admin,
    reducer: once(() =>
      createReducerHandler({
        store: adapters.store(),
        changeFeed: adapters.changeFeed(),
        rejections: adapters.rejections(),
        delayMessage: adapters.events().delay,
        log,
        metrics,
        now,
        defaultTenant: config.defaultTenant,
        maxReceiveCount: config.maxReceiveCount,
        pendingUnknownJobSeconds: runtime.pendingUnknownJobSeconds ?? config.pendingUnknownJobSeconds,
      }),
    ),
    ticker,
    ws: once(() =>
      createWsHandler({ connections: adapters.connections(), subscriptions: adapters.subscriptions(), store: adapters.store(), poster: adapters.poster(), apiKeys: adapters.apiKeys(), tokenSecret: config.tokenSecret(), now, log }),
    ),
    reaper: once(() => createReaper({ store: adapters.store(), log })),
    connectionSweep: once(() => createConnectionSweep({ connections: adapters.connections(), apiKeys: adapters.apiKeys(), poster: adapters.poster(), now, log })),
    api: once(() =>
      createApp({
        store: adapters.store(),
        jobIndex: adapters.jobIndex(),
        rejections: adapters.rejections(),
        streamSlots: adapters.streamSlots(),
        webhookLog: adapters.webhookLog(),
        webhookSecrets: adapters.webhookSecrets(),
        webhookEndpoints: adapters.webhookEndpoints(),
        apiKeys: adapters.apiKeys(),
        admin: admin(),
        publisher: adapters.events(),
        log,
        now,
        publicUrl: config.publicUrl,
        websocketUrl: config.websocketUrl,
        tokenSecret: config.tokenSecret(),
        adminApp: createAdminApp({ admin: admin(), adminToken: config.adminToken?.() ?? null, log }),
        ...(runtime.streams === undefined ? {} : { streams: runtime.streams }),
      }),
    ),
    webhookSender: once(() =>
      createWebhookSender({ transport: adapters.webhookTransport(), queue: adapters.webhookQueue(), deliveries: adapters.webhookLog(), secrets: adapters.webhookSecrets(), endpoints: adapters.webhookEndpoints(), now, log, metrics }),
    ),
    async close() {
      const clients = adapters.clients();
      clients.sqs.destroy();
      clients.dynamodb.destroy();
    },
  };
}

/** The services of a Lambda: configured by the environment infra/ sets, built once per container. */
export const environmentServices = once(() => {
  const config = environmentConfig();
  const metrics = createEmfMetrics({ stage: config.stage ?? "unknown", now: Date.now, log: jsonLog });
  return createServices(config, { log: jsonLog, now: Date.now, metrics, postThreads: Number(process.env.HEADWAY_POST_THREADS ?? 0) });
});

