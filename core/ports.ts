/**
 * The ports the product needs from the outside world, named for what it needs. Adapters in
 * functions/adapters implement them for AWS (and so for the sandbox's emulators). The top of
 * core/: the ports speak of the wings' types (a job's state, a snapshot, a key's record), and no
 * wing imports them.
 */
import type { Event, Message } from "./contract/events.ts";
import type { Snapshot } from "./contract/snapshot.ts";
import type { JobState } from "./estimator/index.ts";
import type { ApiKeyRecord, AuditEntry, KeyPrincipal, TenantRecord } from "./access/keys.ts";
import type { Scope } from "./contract/admin.ts";
import type { WebhookDelivery } from "./contract/webhooks.ts";
import type { WebhookSecret } from "./delivery/webhooks.ts";

/**
 * A job's identity (docs/storage.md): two tenants may use the same job id, and every read and write is
 * scoped by both.
 */
export interface JobRef {
  tenant: string;
  jobId: string;
}

/**
 * A stored job: its identity, and the incarnation that tells it from an expired job of the same
 * id (everything a job owns is kept under its incarnation, so a new job never sees an old one's).
 */
export interface JobMeta extends JobRef {
  incarnation: string;
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
  tenant: string;
  /** The job the input named, or null when it named none that could be read. */
  jobId: string | null;
  /** The job it was judged against; null when that job never appeared (kept in the tenant's log). */
  incarnation: string | null;
  code: string;
  reason: string;
  /** Where it came from, e.g. `sqs:<message id>` or `http:<request id>`. */
  source: string;
  /** The start of the offending input, for an operator to read. */
  excerpt: string;
  atMs: number;
}

/** What a whole-job read gives: one stored version, or `busy` while a write is between its items. */
export type JobRead = { meta: JobMeta; state: JobState } | null | "busy";

/** The job state store. No read ever mixes the items of two versions (docs/storage.md). */
export interface JobStore {
  /** Writes a new job (meta + state); false when the id is taken (by a job that has not expired). */
  createJob(meta: JobMeta, state: JobState): Promise<boolean>;
  /** Loads the head and the parts these events touch (all parts when a new plan must re-home work); null for an unknown job. No events: the head alone. */
  loadForBatch(ref: JobRef, events: readonly Event[]): Promise<LoadedJob | null>;
  /** Writes back what changed, each item conditional on the revision loaded, the head last; throws StoreConflict on a lost race. */
  save(job: LoadedJob, nowMs: number): Promise<void>;
  /** The whole job at one version (every part), null when unknown, "busy" while a write is in progress or was interrupted. */
  loadJob(ref: JobRef): Promise<JobRead>;
}

/** A tenant's job as listed: its identity and its head (the status and figures a snapshot of the head shows; no per-file list). */
export interface JobListEntry {
  meta: JobMeta;
  head: JobState;
}

/** A tenant's jobs, newest first (the dashboard's list). */
export interface JobIndex {
  /** Up to `limit` jobs from `cursor` (null: the newest); `nextCursor` is null at the end. */
  list(tenant: string, page: { limit: number; cursor: string | null }): Promise<{ jobs: JobListEntry[]; nextCursor: string | null }>;
}

/** That `version` of a job is stored. */
export interface Announcement {
  meta: JobMeta;
  version: number;
}

/** Where the reducer tells the ticker which jobs to push (no table scan). */
export interface ChangeFeed {
  /**
   * Announces the stored version of each job a batch applied (changed or not, so that a redelivered
   * batch announces again what a lost marker missed). Resolves with the announcements that could
   * not be written, and why: their batches must come back.
   */
  markChanged(changes: readonly Announcement[], nowMs: number): Promise<{ unannounced: Announcement[]; failure: unknown }>;
  /** Jobs announced and not yet cleared. */
  changedJobs(): Promise<ChangedJob[]>;
  /** Forgets a job's announcement once `version` was pushed everywhere (a newer announcement stays). */
  clearChanged(job: ChangedJob, version: number): Promise<void>;
}

/** Rejected input, kept where a producer can read it: under its job, or under the tenant when no job took it. */
export interface RejectionLog {
  record(records: readonly RejectionRecord[]): Promise<void>;
  /** Newest first; `incarnation` null lists the tenant's log of input no job took. */
  list(tenant: string, job: { jobId: string; incarnation: string } | null, limit: number): Promise<RejectionRecord[]>;
}

export interface EventPublisher {
  /** Enqueues a tenant's messages (each one event or an envelope of one job's events); resolves once all are accepted. */
  publish(messages: readonly Message[], tenant: string): Promise<void>;
}

/** API keys, stored hashed, each scoped to a tenant and holding one or more scopes (docs/tenants-and-keys.md). */
export interface ApiKeyStore {
  /** The tenant, id and scopes of an API key; null when the key is unknown or revoked. A process may trust a key it saw work for a short while (the key cache's window). */
  principalOf(apiKey: string): Promise<KeyPrincipal | null>;
  /** When a key was revoked; null when it is not (or not known): asked only for a key `principalOf` refused, to say why. */
  revokedAt(apiKey: string): Promise<number | null>;
  /** Whether the tenant has this key and it is not revoked (what a subscriber token's `key_id` is checked against); `fresh` reads past the cache. */
  isActive(tenant: string, keyId: string, options?: { fresh?: boolean }): Promise<boolean>;
  /** Makes a new random key for the tenant; the only time the key itself is seen. */
  create(tenant: string, name: string, scopes: readonly Scope[]): Promise<{ apiKey: string; record: ApiKeyRecord }>;
  /** Stores a given key (the sandbox's development key, tests' keys); storing it again changes nothing (a revoked key stays revoked, its scopes stay); `isNew` when this call stored it. */
  putKey(apiKey: string, tenant: string, name: string, scopes: readonly Scope[]): Promise<{ record: ApiKeyRecord; isNew: boolean }>;
  /** The tenant's keys, revoked ones included, oldest first. */
  list(tenant: string): Promise<ApiKeyRecord[]>;
  /** Revokes the tenant's key (again: keeps the first revocation's time); null when the tenant has no such key. */
  revoke(tenant: string, keyId: string): Promise<ApiKeyRecord | null>;
}

/** The registry of tenants: who may be given keys. */
export interface Tenants {
  /** Registers a tenant; null when the name is taken. */
  create(name: string): Promise<TenantRecord | null>;
  get(name: string): Promise<TenantRecord | null>;
  /** Every tenant, by name. */
  list(): Promise<TenantRecord[]>;
}

export interface AuditLog {
  record(entry: AuditEntry): Promise<void>;
  /** Newest first. */
  list(limit: number): Promise<AuditEntry[]>;
}

export interface ChangedJob extends JobMeta {
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
  /** The API key that minted the connection's token, and when the token expires: once either lapses the connection is closed (docs/tenants-and-keys.md, "revocation bites"). */
  keyId: string;
  tokenExpiresAtMs: number;
}

/** WebSocket connections, from `$connect` to `$disconnect` (or a 410 on post). */
export interface Connections {
  put(connection: Connection): Promise<void>;
  get(connectionId: string): Promise<Connection | null>;
  /** Every open connection (the sweep that closes those whose token lapsed reads them). */
  all(): Promise<Connection[]>;
  /** Removes the connection and all its subscriptions. */
  remove(connectionId: string): Promise<void>;
}

export interface Subscriber {
  connectionId: string;
  /** The version `job_finished` last went out with to this subscriber (null: never). */
  finishedVersion: number | null;
  /** Whether it asked for the in-flight detail in its frames (`subscribe` with `detail: true`). */
  detail?: boolean;
}

/** Which connections watch which job (of one incarnation). */
export interface Subscriptions {
  /** Registers the subscriber (again: what it was sent is kept, the detail flag is this call's); resolves with the version `job_finished` last went out with to it. */
  subscribe(connectionId: string, job: JobMeta, options?: { detail?: boolean }): Promise<{ finishedVersion: number | null }>;
  unsubscribe(connectionId: string, job: JobRef): Promise<void>;
  /** The subscribers of many jobs at once, in the order given (an adapter may cache lists that did not change). */
  subscribersOf(jobs: readonly JobMeta[]): Promise<Subscriber[][]>;
  /** Records that `job_finished` of `version` reached this subscriber (after the post succeeded). */
  markFinishedSent(connectionId: string, job: JobMeta, version: number): Promise<void>;
}

/**
 * Counted slots with leases (the update streams' bounds): a holder takes a slot under several
 * keys at once (its credential, its tenant), renews it while it lives, and gives it back; a slot
 * whose holder died lapses by itself.
 */
export interface StreamSlots {
  /** Takes a slot under every key, or none: resolves with the first key that is full, or null when taken. */
  acquire(holder: string, keys: readonly { key: string; limit: number }[], forMs: number): Promise<string | null>;
  renew(holder: string, keys: readonly string[], forMs: number): Promise<void>;
  release(holder: string, keys: readonly string[]): Promise<void>;
}

/** A lease held by one owner at a time until it lapses. */
export interface Lease {
  /** Takes or renews the lease for `forMs`; false while another owner holds it. */
  acquire(owner: string, forMs: number): Promise<boolean>;
  release(owner: string): Promise<void>;
}

export interface DeliveryLogEntry {
  tenant: string;
  jobId: string;
  incarnation: string;
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
  /** Which of these webhooks of the job were enqueued already. */
  enqueued(job: JobMeta, keys: readonly string[]): Promise<Set<string>>;
  /** Records webhooks as enqueued (after they were: a crash between enqueues again, never loses). */
  markEnqueued(job: JobMeta, keys: readonly string[]): Promise<void>;
  record(entry: DeliveryLogEntry): Promise<void>;
  /** Newest first. */
  list(job: JobMeta, limit: number): Promise<DeliveryLogEntry[]>;
}

export interface WebhookQueue {
  enqueue(delivery: WebhookDelivery, delaySeconds: number): Promise<void>;
}

/** Each tenant's webhook secrets (docs/realtime.md, "Webhooks"), rotatable without downtime. */
export interface WebhookSecrets {
  /** The secrets that sign now, newest (the current one) first; a tenant's first secret is made on first use. */
  secretsOf(tenant: string): Promise<WebhookSecret[]>;
  /** Makes a new current secret; the ones valid now stay valid for `overlapMs` more (never longer than they already were). */
  rotate(tenant: string, overlapMs: number): Promise<WebhookSecret[]>;
}

/** Webhook endpoints that answered 410 Gone, per tenant: deliveries to them stop (docs/realtime.md, "Webhooks"). */
export interface WebhookEndpoints {
  /** When the tenant's endpoint answered 410, if it still counts as gone (core/delivery/webhooks.ts `ENDPOINT_GONE_FOR_MS`); else null. */
  goneSince(tenant: string, url: string): Promise<number | null>;
  markGone(tenant: string, url: string, atMs: number): Promise<void>;
  /** The tenant registered the URL again: deliveries to it resume. */
  revive(tenant: string, url: string): Promise<void>;
}
