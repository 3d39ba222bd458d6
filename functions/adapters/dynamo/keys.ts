/**
 * Every key of the table, in one place (one table, `pk`/`sk`): no other module builds a key or a
 * prefix as a string. Neither tenant names nor job ids contain `#`, so `#` joins the parts.
 *
 * A job's head lives under its identity (tenant and id: ids are per tenant); everything else the
 * job owns (its leaves, rejections, subscribers, webhook records) under its incarnation, so that a
 * job created with the id of an expired one starts empty whatever the expired one left behind.
 *
 *   pk                                      sk                              what
 *   JOB#<tenant>#<job>                      HEAD                            the job's head (store.ts)
 *   JOB#<tenant>#<job>#<incarnation>        G#<g> P#<n> L#<b> T#<b>#<n> J#<n>  its leaves: groups, parts, label buckets, task parts, job parts
 *                                           REJ#<time>#<source>             refused input (rejections.ts)
 *                                           SUB#<connection>, SUBREV        its subscribers, and their list's revision (connections.ts)
 *                                           WHCLAIM#<key>, WHLOG#<time>#…   webhooks enqueued, and delivery attempts (webhook-log.ts)
 *   CHANGED#<shard>                         <tenant>#<job>                  the change feed (change-feed.ts)
 *   TENANT#<tenant>                         JOBS#<created>#<job>#<inc>      the tenant's job list (job-index.ts)
 *                                           REJ#…                           input no job took
 *                                           KEY#<key id>                    its API keys' listing (api-keys.ts)
 *                                           WHSECRETS, WHGONE#<url hash>    webhook secrets, endpoints gone (webhook-*.ts)
 *   KEY#<sha-256 of the key>                KEY                             an API key's lookup item
 *   TENANTS                                 TENANT#<tenant>                 the tenant registry (tenants.ts)
 *   CONNS#<shard>                           CONN#<connection>               a WebSocket connection (connections.ts)
 *   CONN#<connection>                       SUB#<tenant>#<job>              its subscriptions
 *   LEASE#<name>                            LEASE                           the ticker's lease (lease.ts)
 *   SLOTS#<key>                             <holder>                        update-stream slots (stream-slots.ts)
 *   AUDIT                                   <time>#<random>                 the admin audit log (audit.ts)
 */
import { hashId } from "../../../core/storage/index.ts";
import type { JobMeta, JobRef } from "../../../core/ports.ts";

const pad = (n: number, digits: number) => String(n).padStart(digits, "0");
/** Times in sort keys: 15 digits of epoch ms, so that they sort as numbers. */
const timeKey = (atMs: number) => pad(atMs, 15);

// ---------------------------------------------------------------- a job's items

export const HEAD = "HEAD";
export const headKey = (job: JobRef) => `JOB#${job.tenant}#${job.jobId}`;
export const jobKey = (job: Pick<JobMeta, "tenant" | "jobId" | "incarnation">) => `JOB#${job.tenant}#${job.jobId}#${job.incarnation}`;

/** The job a head's partition key names, or null for any other key. */
export function jobRefOfHeadKey(pk: string): JobRef | null {
  const [kind, tenant, jobId, ...rest] = pk.split("#");
  return kind !== "JOB" || tenant === undefined || jobId === undefined || rest.length > 0 ? null : { tenant, jobId };
}

export const partKey = (part: number) => `P#${pad(part, 5)}`;
export const groupKey = (group: number) => `G#${pad(group, 3)}`;
export const bucketKey = (bucket: number) => `L#${pad(bucket, 2)}`;
export const taskPartKey = (bucket: number, part: number) => `T#${pad(bucket, 2)}#${pad(part, 5)}`;
export const jobPartKey = (part: number) => `J#${pad(part, 5)}`;

/** What a leaf's sort key names: its kind and numbers (a task part: its bucket, then its part). */
export type LeafKind = "group" | "part" | "bucket" | "task" | "job part";
const LEAF_KINDS: Record<string, LeafKind> = { G: "group", P: "part", L: "bucket", T: "task", J: "job part" };
export function leafOf(sk: string): { kind: LeafKind; numbers: number[] } | null {
  const kind = /^[GPLTJ]#/.test(sk) ? LEAF_KINDS[sk[0]!] : undefined;
  return kind === undefined ? null : { kind, numbers: sk.slice(2).split("#").map(Number) };
}
export const isBucketKey = (sk: string) => sk.startsWith("L#");
export const isPartKey = (sk: string) => sk.startsWith("P#");
export const isJobPartKey = (sk: string) => sk.startsWith("J#");
/**
 * Ranges of a job partition's sort keys: J# < L# < P# < REJ# < SUB# < T# < WH…; every leaf lies
 * between G# and T#~ (groups, job parts, buckets, parts, then task parts).
 */
export const LEAVES: [string, string] = ["G#", "T#~"];
export const JOB_PARTS_TO_PARTS: [string, string] = ["J#", "P#~"];
export const BUCKETS_TO_PARTS: [string, string] = ["L#", "P#~"];
export const TASK_PART_PREFIX = "T#";

export const REJECTION_PREFIX = "REJ#";
export const rejectionKey = (atMs: number, source: string) => `${REJECTION_PREFIX}${timeKey(atMs)}#${source}`;

export const WEBHOOK_CLAIM_PREFIX = "WHCLAIM#";
export const webhookClaimKey = (key: string) => `${WEBHOOK_CLAIM_PREFIX}${key}`;
export const WEBHOOK_LOG_PREFIX = "WHLOG#";
export const webhookLogKey = (atMs: number, webhookId: string, attempt: number) => `${WEBHOOK_LOG_PREFIX}${timeKey(atMs)}#${webhookId}#${attempt}`;

// ---------------------------------------------------------------- the change feed

/** The change feed's partitions: the ticker lists changed jobs with this many small queries, never a scan. */
export const CHANGE_SHARDS = 8;
/** A job in the change feed (and in a connection's subscriptions): tenant and id. */
export const changeKey = (job: JobRef) => `${job.tenant}#${job.jobId}`;
export const changeShardKey = (shard: number) => `CHANGED#${shard}`;
export const changeShardOf = (job: JobRef) => changeShardKey(hashId(changeKey(job)) % CHANGE_SHARDS);

// ---------------------------------------------------------------- a tenant's items

/** A tenant's own items (its job list, input no job took, key listings, webhook secrets, endpoints gone) live under `pk = TENANT#<tenant>`. */
export const tenantKey = (tenant: string) => `TENANT#${tenant}`;

export const JOB_ENTRY_PREFIX = "JOBS#";
/** Unique per incarnation: two creates of one id in the same millisecond write two entries, and the refused one removes its own. */
export const jobEntryKey = (meta: JobMeta) => `${JOB_ENTRY_PREFIX}${timeKey(meta.createdAtMs)}#${meta.jobId}#${meta.incarnation}`;
export const createdAtOfJobEntry = (sk: string) => Number(sk.slice(JOB_ENTRY_PREFIX.length, JOB_ENTRY_PREFIX.length + 15));

export const WEBHOOK_SECRETS_SK = "WHSECRETS";
/** The URL hashed: URLs may be 2,000 characters, a sort key is kept short. */
export const goneEndpointKey = (urlHash: string) => `WHGONE#${urlHash}`;

/**
 * An API key has two items (no transactions): the lookup item under its hash
 * (`pk = KEY#<sha-256 hex>`, `sk = KEY`), read on every request, and its listing under its
 * tenant (`pk = TENANT#<tenant>`, `sk = KEY#<key id>`). Creation writes the listing first (a key
 * that works is always listed); revocation marks the lookup item first (it takes effect at once).
 */
export const apiKeyLookupKey = (keyHash: string) => `KEY#${keyHash}`;
export const API_KEY_SK = "KEY";
export const API_KEY_LISTING_PREFIX = "KEY#";
export const apiKeyListingKey = (keyId: string) => `${API_KEY_LISTING_PREFIX}${keyId}`;

/** The tenant registry: one partition, so listing tenants is a query, never a scan of the table. */
export const TENANTS_PK = "TENANTS";
export const TENANT_RECORD_PREFIX = "TENANT#";
export const tenantRecordKey = (tenant: string) => `${TENANT_RECORD_PREFIX}${tenant}`;

// ---------------------------------------------------------------- connections and subscriptions

/**
 * A WebSocket connection's record lives in one of CONNECTION_SHARDS partitions (by a hash of its
 * id), so that the sweep that closes lapsed connections lists them all with a few queries and no
 * scan; its subscriptions stay under `CONN#<connection>`.
 */
export const CONNECTION_SHARDS = 8;
export const CONNECTION_PREFIX = "CONN#";
export const connectionShardKey = (shard: number) => `CONNS#${shard}`;
export const connectionRecordKey = (connectionId: string) => ({ pk: connectionShardKey(hashId(connectionId) % CONNECTION_SHARDS), sk: `${CONNECTION_PREFIX}${connectionId}` });
export const connectionIdOfRecord = (sk: string) => sk.slice(CONNECTION_PREFIX.length);
export const connectionPartition = (connectionId: string) => `${CONNECTION_PREFIX}${connectionId}`;
export const SUBSCRIBER_PREFIX = "SUB#";
/** A job's subscriber, in the job's partition. */
export const subscriberKey = (connectionId: string) => `${SUBSCRIBER_PREFIX}${connectionId}`;
/** A connection's subscription to a job, in the connection's partition. */
export const subscriptionKey = (job: JobRef) => `${SUBSCRIBER_PREFIX}${changeKey(job)}`;
/** The revision of a job's subscriber list, bumped after every change to it. */
export const SUBSCRIBERS_REVISION_SK = "SUBREV";

// ---------------------------------------------------------------- the service's own items

export const leaseKey = (name: string) => ({ pk: `LEASE#${name}`, sk: "LEASE" });
export const streamSlotsKey = (key: string) => `SLOTS#${key}`;

/** The admin audit log: one partition (admin actions are rare), sorted by time. */
export const AUDIT_PK = "AUDIT";
export const auditKey = (atMs: number, unique: string) => `${timeKey(atMs)}#${unique}`;
