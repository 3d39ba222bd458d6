/**
 * Settings the deployment (infra/) and the runtime (functions/, the sandbox) must agree on,
 * defined once: infra/ imports them, so the sandbox runs with what the cloud is configured with.
 * No imports: infra/ loads this file in SST's own runtime.
 */

/** The events queue and the reducer's event source mapping. */
export const EVENTS = {
  /** Messages per reducer invocation; above 10, SQS event sources require a batching window of ≥ 1 s. */
  batchSize: 500,
  batchingWindowSeconds: 1,
  reducerTimeoutSeconds: 30,
  /** 6× the reducer's timeout, as AWS advises for SQS event sources. */
  visibilityTimeoutSeconds: 180,
  /** Receives before the DLQ; the reducer holds events of a not-yet-declared job for fewer than this. */
  maxReceiveCount: 10,
  /** How long events of a job not yet declared wait for it before they are rejected as `unknown_job`. */
  pendingUnknownJobSeconds: 180,
  maxConcurrency: 20,
} as const;

/** The webhook queue and its sender. */
export const WEBHOOKS = {
  batchSize: 10,
  senderTimeoutSeconds: 30,
  visibilityTimeoutSeconds: 180,
  /** Receives before the DLQ (failures of the sender itself; a receiver's refusals follow the retry schedule). */
  maxReceiveCount: 5,
} as const;

/** The ticker: started every minute, it ticks about every `intervalMs` for `runMs` of it. */
export const TICKER = {
  intervalMs: 2000,
  runMs: 55_000,
  timeoutSeconds: 70,
} as const;

/**
 * Update streams (SSE): each holds a Lambda invocation, so they are bounded per subscriber token
 * (or API key) and per tenant; a stream ends after `maxStreamMs` and the client reconnects.
 */
export const STREAMS = {
  perCredential: 4,
  perTenant: 50,
  maxStreamMs: 14 * 60_000,
  pollMs: 1000,
} as const;

/** The tenant of queue messages that carry no `tenant` attribute (and of the sandbox's key). */
export const DEFAULT_TENANT = "default";

/**
 * CloudWatch metrics, written as embedded metric format (EMF) log lines by the functions and
 * alarmed on by infra/alarms.ts. Every metric carries the `service` and `stage` dimensions, so
 * that stages sharing an account keep apart; one recorded with more dimensions (`code`) is also
 * published under those two alone, where its total is one metric to alarm on.
 */
export const METRICS = {
  namespace: "Headway",
  service: "headway",
  /** Each metric and its CloudWatch unit (docs/operating.md says what each one means). */
  units: {
    IngestLag: "Milliseconds",
    EventsApplied: "Count",
    EventsRejected: "Count",
    MessagesReturned: "Count",
    Ticks: "Count",
    TickDuration: "Milliseconds",
    TickJobs: "Count",
    Posts: "Count",
    GoneConnections: "Count",
    JobsRetried: "Count",
    WebhooksEnqueued: "Count",
    WebhooksDelivered: "Count",
    WebhookRetries: "Count",
    WebhookGiveUps: "Count",
    WebhooksGone: "Count",
  },
} as const;

export type MetricName = keyof typeof METRICS.units;

/** What infra/alarms.ts alarms on (docs/operating.md). */
export const ALARMS = {
  /** The oldest message of a reducer batch older than this, every minute for `ingestLagMinutes`. */
  ingestLagMs: 60_000,
  ingestLagMinutes: 5,
  /** The events queue's oldest message older than this: the reducer is not consuming (it then emits no IngestLag at all). */
  queueAgeSeconds: 300,
  /** A tick longer than its interval (TICKER.intervalMs), in `tickOverrunMinutes` of 5 minutes. */
  tickOverrunMs: 2000,
  tickOverrunMinutes: 3,
} as const;
/** The sandbox's table name, which the admin CLI assumes when given only an `--endpoint`. */
export const SANDBOX_TABLE_NAME = "headway";
