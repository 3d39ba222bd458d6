/**
 * What the DynamoDB store's items look like: the key formats of a job's items (one place, so no
 * other adapter rebuilds them as literals), their bodies (deflated above 1 KB, since WCU are billed
 * per KB of the whole item), their billed size, and the bounded runner the store writes with.
 */
import type { AttributeValue } from "@aws-sdk/client-dynamodb";
import { deflateRawSync, inflateRawSync } from "node:zlib";
import { StoreConflict } from "../../../core/errors.ts";
import { hashId } from "../../../core/storage/index.ts";
import type { JobMeta, JobRef } from "../../../core/ports.ts";

export type Item = Record<string, AttributeValue>;

const COMPRESS_ABOVE_BYTES = 1024;

/** A job's identity as its head stores it. */
export function metaOf(ref: JobRef, head: Item): JobMeta {
  return { tenant: ref.tenant, jobId: ref.jobId, incarnation: head.inc!.S!, createdAtMs: Number(head.created_at!.N) };
}

/**
 * A job's head lives under its identity (tenant and id: ids are per tenant); everything else the
 * job owns (parts, rejections, subscribers, webhook records) under its incarnation, so that a job
 * created with the id of an expired one starts empty whatever the expired one left behind.
 * Neither tenant names nor job ids contain `#`.
 */
export const headKey = (job: JobRef) => `JOB#${job.tenant}#${job.jobId}`;
export const jobKey = (job: JobMeta) => `JOB#${job.tenant}#${job.jobId}#${job.incarnation}`;
export const HEAD = "HEAD";
/** The change feed's sort key for a job. */
export const changeKey = (job: JobRef) => `${job.tenant}#${job.jobId}`;
const pad = (n: number, digits: number) => String(n).padStart(digits, "0");
export const partKey = (part: number) => `P#${pad(part, 5)}`;
export const groupKey = (group: number) => `G#${pad(group, 3)}`;
export const bucketKey = (bucket: number) => `L#${pad(bucket, 2)}`;
export const taskPartKey = (bucket: number, part: number) => `T#${pad(bucket, 2)}#${pad(part, 5)}`;
export const jobPartKey = (part: number) => `J#${pad(part, 5)}`;
/** A tenant's own items (input no job took, webhook secrets, endpoints that are gone) live under `pk = TENANT#<tenant>`. */
export const tenantKey = (tenant: string) => `TENANT#${tenant}`;
export const WEBHOOK_SECRETS_SK = "WHSECRETS";
/** The URL hashed: URLs may be 2,000 characters, a sort key is kept short. */
export const goneEndpointKey = (urlHash: string) => `WHGONE#${urlHash}`;
/**
 * An API key has two items (no transactions, DESIGN §4): the lookup item under its hash
 * (`pk = KEY#<sha-256 hex>`, `sk = KEY`), read on every request, and its listing under its
 * tenant (`pk = TENANT#<tenant>`, `sk = KEY#<key id>`). Creation writes the listing first (a key
 * that works is always listed); revocation marks the lookup item first (it takes effect at once).
 */
export const apiKeyLookupKey = (keyHash: string) => `KEY#${keyHash}`;
export const API_KEY_SK = "KEY";
export const apiKeyListingKey = (keyId: string) => `KEY#${keyId}`;
export const API_KEY_LISTING_PREFIX = "KEY#";
/** The tenant registry: one partition, so listing tenants is a query, never a scan of the table. */
export const TENANTS_PK = "TENANTS";
export const tenantRecordKey = (tenant: string) => `TENANT#${tenant}`;
/**
 * A WebSocket connection's record lives in one of CONNECTION_SHARDS partitions (by a hash of its
 * id), so that the sweep that closes lapsed connections lists them all with a few queries and no
 * scan; its subscriptions stay under `CONN#<connection>`.
 */
export const CONNECTION_SHARDS = 8;
export const connectionShardKey = (shard: number) => `CONNS#${shard}`;
export const connectionRecordKey = (connectionId: string) => ({ pk: connectionShardKey(hashId(connectionId) % CONNECTION_SHARDS), sk: `CONN#${connectionId}` });
export const connectionPartition = (connectionId: string) => `CONN#${connectionId}`;
/** The admin audit log: one partition (admin actions are rare), sorted by time. */
export const AUDIT_PK = "AUDIT";
export const auditKey = (atMs: number, unique: string) => `${String(atMs).padStart(15, "0")}#${unique}`;

/** The bytes an item body takes once stored (deflated above COMPRESS_ABOVE_BYTES). */
export function storedBytes(body: string): number {
  return body.length <= COMPRESS_ABOVE_BYTES ? Buffer.byteLength(body) : deflateRawSync(body).length;
}

export function encodeBody(body: string): Item {
  if (body.length <= COMPRESS_ABOVE_BYTES) return { d: { S: body } };
  return { z: { B: deflateRawSync(body) } };
}

export function decodeBody(item: Item): string {
  if (item.d?.S !== undefined) return item.d.S;
  const compressed = item.z?.B;
  if (compressed === undefined) throw new Error(`item ${item.pk?.S}/${item.sk?.S} has no body`);
  return inflateRawSync(compressed).toString("utf8");
}

/** Whether an item's TTL has passed (DynamoDB deletes expired items only eventually, so reads must look). */
export function isExpired(item: Item, nowMs: number): boolean {
  return Number(item.expires_at?.N ?? Infinity) * 1000 < nowMs;
}

/** Read units of a strongly consistent read of this item, as DynamoDB bills them: 1 per 4 KB, rounded up. */
export function readUnitsOf(item: Item): number {
  return Math.max(1, Math.ceil(itemBytes(item) / 4096));
}

/** Item size as DynamoDB bills it: attribute names plus values. */
export function itemBytes(item: Item): number {
  let bytes = 0;
  for (const [name, value] of Object.entries(item)) {
    bytes += Buffer.byteLength(name);
    if (value.S !== undefined) bytes += Buffer.byteLength(value.S);
    else if (value.N !== undefined) bytes += value.N.length;
    else if (value.B !== undefined) bytes += value.B.length;
  }
  return bytes;
}

/** Runs tasks a few at a time; after the first failure starts no more (a lost race makes the rest moot). */
export async function runBounded(tasks: (() => Promise<void>)[], concurrency: number): Promise<void> {
  let next = 0;
  const errors: unknown[] = [];
  const worker = async () => {
    while (next < tasks.length && errors.length === 0) {
      const task = tasks[next++]!;
      try {
        await task();
      } catch (error) {
        errors.push(error);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, tasks.length) }, worker));
  if (errors.length > 0) throw errors.find((error) => error instanceof StoreConflict) ?? errors[0];
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

