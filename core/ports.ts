/**
 * The ports the product needs from the outside world, named for what it needs. Adapters in
 * functions/adapters implement them for AWS (and so for the sandbox's emulators).
 */
import type { Event, Message } from "./contract.ts";
import type { JobState } from "./state.ts";

export interface JobMeta {
  jobId: string;
  tenant: string;
  createdAtMs: number;
}

/** A job as loaded for one reducer batch: the head and the parts the batch touches. */
export interface LoadedJob {
  meta: JobMeta;
  state: JobState;
  /** Storage bookkeeping the store needs to write back conditionally; opaque to callers. */
  handle: unknown;
}

export interface RejectionRecord {
  jobId: string;
  code: string;
  reason: string;
  /** Where it came from, e.g. `sqs:<message id>` or `http:<request id>`. */
  source: string;
  /** The start of the offending input, for an operator to read. */
  excerpt: string;
  atMs: number;
}

export interface JobStore {
  /** Writes a new job (meta + state); false when the id is taken. */
  createJob(meta: JobMeta, state: JobState): Promise<boolean>;
  getMeta(jobId: string): Promise<JobMeta | null>;
  /** Loads the head and the parts these events touch (all parts when a new plan must re-home work); null for an unknown job. */
  loadForBatch(jobId: string, events: readonly Event[]): Promise<LoadedJob | null>;
  /** Writes back what changed, each item conditional on the revision loaded; throws StoreConflict on a lost race. */
  save(job: LoadedJob, nowMs: number): Promise<void>;
  /** The whole job, every part loaded (snapshots). */
  loadJob(jobId: string): Promise<{ meta: JobMeta; state: JobState } | null>;
  recordRejections(records: readonly RejectionRecord[]): Promise<void>;
  /** Jobs whose state moved since the ticker last emitted them, with the version announced and when. */
  changedJobs(): Promise<ChangedJob[]>;
  /** Forgets a job's change once `version` was emitted (a newer change stays). */
  clearChanged(jobId: string, version: number): Promise<void>;
  listRejections(jobId: string, limit: number): Promise<RejectionRecord[]>;
}

export interface EventPublisher {
  /** Enqueues messages (each one event or an envelope of one job's events); resolves once all are accepted. */
  publish(messages: readonly Message[]): Promise<void>;
}

export interface ApiKeyStore {
  /** The tenant of an API key, or null. Keys are stored hashed. */
  tenantOf(apiKey: string): Promise<string | null>;
  putKey(apiKey: string, tenant: string, name: string): Promise<void>;
}

export interface ChangedJob {
  jobId: string;
  version: number;
  changedAtMs: number;
}

/** One frame for one connection, already serialized (connections watching the same jobs share it). */
export interface Delivery {
  connectionId: string;
  body: string;
}

/** What became of a post: "gone" when the connection no longer exists (API Gateway's 410). */
export type PostOutcome = "sent" | "gone" | { error: string };

/** Sends frames to WebSocket connections. */
export interface Poster {
  post(connectionId: string, frame: unknown): Promise<"sent" | "gone">;
  /** Many posts with bounded concurrency; one outcome per delivery, in order. Never rejects. */
  postAll(deliveries: readonly Delivery[]): Promise<PostOutcome[]>;
  disconnect(connectionId: string): Promise<void>;
}

export interface Connection {
  connectionId: string;
  tenant: string;
  /** Job ids the connection's token allows. */
  scope: string[];
  connectedAtMs: number;
}

export interface Subscriber {
  connectionId: string;
  jobId: string;
  isFinishedSent: boolean;
}

export interface ConnectionStore {
  putConnection(connection: Connection): Promise<void>;
  getConnection(connectionId: string): Promise<Connection | null>;
  /** Removes the connection and all its subscriptions. */
  deleteConnection(connectionId: string): Promise<void>;
  subscribe(connectionId: string, jobId: string): Promise<void>;
  unsubscribe(connectionId: string, jobId: string): Promise<void>;
  subscribersOf(jobId: string): Promise<Subscriber[]>;
  /**
   * A number per job that grows whenever its subscriber list changes (0 for none yet), read in one
   * request for many jobs: the ticker re-reads a list only when its revision moved.
   */
  subscriberRevisions(jobIds: readonly string[]): Promise<Map<string, number>>;
  /** Records that `job_finished` went to this subscriber; false if it already had (so it is sent once). */
  claimFinished(connectionId: string, jobId: string): Promise<boolean>;
}

/** A lease held by one owner at a time until it lapses. */
export interface Lease {
  /** Takes or renews the lease for `forMs`; false while another owner holds it. */
  acquire(owner: string, forMs: number): Promise<boolean>;
  release(owner: string): Promise<void>;
}

export interface DeliveryLogEntry {
  jobId: string;
  webhookId: string;
  attempt: number;
  url: string;
  outcome: "delivered" | "failed" | "gone" | "gave_up";
  status: number | null;
  error: string | null;
  ms: number;
  atMs: number;
  nextAttemptAtMs: number | null;
}

export interface WebhookLog {
  /** True the first time a (job, key) is claimed: each webhook is enqueued once. */
  claim(jobId: string, key: string): Promise<boolean>;
  /** Gives a claim back (its webhook could not be enqueued), so that a later tick tries again. */
  release(jobId: string, key: string): Promise<void>;
  record(entry: DeliveryLogEntry): Promise<void>;
  /** Newest first. */
  list(jobId: string, limit: number): Promise<DeliveryLogEntry[]>;
}

export interface WebhookQueue {
  enqueue(delivery: import("./webhook.ts").WebhookDelivery, delaySeconds: number): Promise<void>;
}

/** One webhook signing secret of a tenant, `whsec_` + base64. */
export interface WebhookSecret {
  secret: string;
  createdAtMs: number;
  /** When it stops signing: null for the current secret, set on the previous ones by a rotation. */
  expiresAtMs: number | null;
}

/** Each tenant's webhook secrets (DESIGN §4), rotatable without downtime. */
export interface WebhookSecrets {
  /** The secrets that sign now, newest (the current one) first; a tenant's first secret is made on first use. */
  secretsOf(tenant: string): Promise<WebhookSecret[]>;
  /** Makes a new current secret; the ones valid now stay valid for `overlapMs` more (never longer than they already were). */
  rotate(tenant: string, overlapMs: number): Promise<WebhookSecret[]>;
}

/** Webhook endpoints that answered 410 Gone, per tenant: deliveries to them stop (DESIGN §3.7). */
export interface WebhookEndpoints {
  /** When the tenant's endpoint answered 410, if it still counts as gone (core/webhook.ts `ENDPOINT_GONE_FOR_MS`); else null. */
  goneSince(tenant: string, url: string): Promise<number | null>;
  markGone(tenant: string, url: string, atMs: number): Promise<void>;
  /** The tenant registered the URL again: deliveries to it resume. */
  revive(tenant: string, url: string): Promise<void>;
}
