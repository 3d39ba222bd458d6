/**
 * The job store's I/O on single items: reads gathered into BatchGetItem requests (jobs loaded side
 * by side share them) and counted, conditional puts (on the revision loaded, on absence, or on a
 * split's `born`), the fence that settles a split nobody committed, and what every request costs
 * (the store's metrics: WCU per event is a target). Knows items, never a job's state.
 */
import { ConditionalCheckFailedException, PutItemCommand, UpdateItemCommand, type AttributeValue, type ConsumedCapacity, type DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { ItemTooLarge, StoreConflict } from "../../../core/errors.ts";
import type { JobMeta, JobRef } from "../../../core/ports.ts";
import { encodeBody, isExpired, itemBytes, readUnitsOf, storedBytes, type Item } from "./items.ts";
import { HEAD, headKey, jobKey } from "./keys.ts";
import { createItemReader } from "./query.ts";

/** The largest body an item may carry: DynamoDB's 400 KB, less room for the keys and the other attributes. */
const MAX_BODY_BYTES = 400 * 1024 - 4096;

export interface StoreMetrics {
  writes: number;
  /** Conditional writes that lost a race (billed too, and counted in writeUnits). */
  failedWrites: number;
  writeUnits: number;
  /** Read units of the reads that load jobs, as DynamoDB bills a strongly consistent read: 1 per 4 KB of each item, rounded up. */
  readUnits: number;
  maxItemBytes: number;
  /** The sort key of the largest item written. */
  maxItemKey: string;
  /** Parts added by splits (originals and tasks). */
  splits: number;
}

/** How an item is written: on the revision loaded (`{rev}`), on absence (`undefined`), or as a split's new part (`{born}`). */
export type WriteCondition = { rev: number } | { born: number } | undefined;

export interface StoreIo {
  client: DynamoDBClient;
  tableName: string;
  now: () => number;
  metrics: StoreMetrics;
  /** A part whose stored item passes this many bytes is split (SPLIT_ITEM_BYTES; smaller in tests). */
  splitItemBytes: number;
  countRead(item: Item): void;
  countWrite(capacity: ConsumedCapacity | undefined, bytes: number, sk?: string): void;
  /** Items of a job by sort key, through the gathering reader. */
  batchGet(meta: JobMeta, sortKeys: string[]): Promise<Map<string, Item>>;
  /** The head, or null when there is none or it has expired (TTL deletes expired items only eventually). */
  readHead(ref: JobRef): Promise<Item | null>;
  putConditional(meta: JobMeta, sk: string, body: string, previous: WriteCondition, extra?: Item, nowMs?: number): Promise<void>;
  /** Refuses (ItemTooLarge) a body DynamoDB would refuse; nothing is written. */
  checkFits(sk: string, body: string): void;
  fence(meta: JobMeta, owner: string, loaded: { rev: number } | undefined, emptyOwnerBody: string, nowMs: number): Promise<void>;
}

/** Head and label buckets live apart from the rest of the job (keys.ts). */
const pkOf = (meta: JobMeta, sk: string) => (sk === HEAD ? headKey(meta) : jobKey(meta));

const isConditionFailure = (error: unknown) => error instanceof ConditionalCheckFailedException || (error as Error).name === "ConditionalCheckFailedException";

/** The condition of a put: a head is new when its job's id is free (or its head expired); a split's new part when absent or left by an older split. */
function conditionOf(sk: string, previous: WriteCondition, nowMs: number): { ConditionExpression: string; ExpressionAttributeValues?: Record<string, AttributeValue> } {
  if (previous === undefined) {
    return sk === HEAD
      ? // A new job may take the id of one whose head expired and still waits for TTL's deletion.
        { ConditionExpression: "attribute_not_exists(pk) OR expires_at < :now", ExpressionAttributeValues: { ":now": { N: String(Math.floor(nowMs / 1000)) } } }
      : { ConditionExpression: "attribute_not_exists(pk)" };
  }
  if ("born" in previous) return { ConditionExpression: "attribute_not_exists(pk) OR born < :born", ExpressionAttributeValues: { ":born": { N: String(previous.born) } } };
  return { ConditionExpression: "rev = :rev", ExpressionAttributeValues: { ":rev": { N: String(previous.rev) } } };
}

export function createStoreIo(options: { client: DynamoDBClient; tableName: string; now: () => number; splitItemBytes: number }): StoreIo {
  const { client, tableName, now } = options;
  const metrics: StoreMetrics = { writes: 0, failedWrites: 0, writeUnits: 0, readUnits: 0, maxItemBytes: 0, maxItemKey: "", splits: 0 };
  const readItem = createItemReader(client, tableName);
  const io: StoreIo = {
    client,
    tableName,
    now,
    metrics,
    splitItemBytes: options.splitItemBytes,
    countRead: (item) => void (metrics.readUnits += readUnitsOf(item)),
    countWrite(capacity, bytes, sk = "") {
      metrics.writes++;
      metrics.writeUnits += capacity?.CapacityUnits ?? 0;
      if (bytes > metrics.maxItemBytes) {
        metrics.maxItemBytes = bytes;
        metrics.maxItemKey = sk;
      }
    },
    async batchGet(meta, sortKeys) {
      const items = await Promise.all(sortKeys.map((sk) => readItem({ pk: pkOf(meta, sk), sk })));
      const found = new Map<string, Item>();
      for (const item of items) {
        if (item === undefined) continue;
        io.countRead(item);
        found.set(item.sk!.S!, item);
      }
      return found;
    },
    async readHead(ref) {
      const item = await readItem({ pk: headKey(ref), sk: HEAD });
      metrics.readUnits += item === undefined ? 1 : readUnitsOf(item);
      if (item === undefined || isExpired(item, now())) return null;
      return item;
    },
    /**
     * A conditional put. `born` is the revision the part's owner (the head, or its label bucket)
     * will have once this split is committed: a writer that loaded the owner before another writer
     * committed the same split has a `born` no larger than the stored one, and loses instead of
     * overwriting a live part. A live part, rewritten with a plain revision, has no `born` at all,
     * so it is never overwritten as a new one either.
     */
    async putConditional(meta, sk, body, previous, extra = {}, nowMs = now()) {
      const isNewPart = previous !== undefined && "born" in previous;
      const item: Item = {
        pk: { S: pkOf(meta, sk) },
        sk: { S: sk },
        rev: { N: String(previous !== undefined && "rev" in previous ? previous.rev + 1 : 1) },
        ...encodeBody(body),
        ...(isNewPart ? { born: { N: String(previous.born) } } : {}),
        ...extra,
      };
      const bytes = itemBytes(item);
      try {
        const result = await client.send(new PutItemCommand({ TableName: tableName, Item: item, ...conditionOf(sk, previous, nowMs), ReturnConsumedCapacity: "TOTAL" }));
        io.countWrite(result.ConsumedCapacity, bytes, sk);
      } catch (error) {
        if (!isConditionFailure(error)) throw error;
        // DynamoDB bills a write whose condition fails like one that succeeds; emulators report nothing.
        metrics.writeUnits += Math.max(1, Math.ceil(bytes / 1024));
        metrics.failedWrites++;
        throw new StoreConflict(`${pkOf(meta, sk)}/${sk}`, { cause: error });
      }
    },
    /** Bodies are deflated when stored, so only a body whose raw UTF-8 could pass the limit is measured (the common item costs nothing here). */
    checkFits(sk, body) {
      if (body.length * 3 <= MAX_BODY_BYTES) return;
      const bytes = storedBytes(body);
      if (bytes > MAX_BODY_BYTES) throw new ItemTooLarge(sk, bytes);
    },
    /**
     * A new part's item exists with a `born` as large as ours: either a writer that loaded the same
     * owner committed this split (then the owner moved and this bump fails: we reload and see it),
     * or an attempt that never committed left it (then nobody moves the owner, and every retry
     * would lose the same way). Moving the owner's revision settles both: a writer in flight with
     * the old revision loses at the owner, and our retry gets a larger `born`.
     */
    async fence(meta, owner, loaded, emptyOwnerBody, nowMs) {
      try {
        if (loaded !== undefined) {
          await client.send(
            new UpdateItemCommand({
              TableName: tableName,
              Key: { pk: { S: pkOf(meta, owner) }, sk: { S: owner } },
              UpdateExpression: "SET rev = :next",
              ConditionExpression: "rev = :rev",
              ExpressionAttributeValues: { ":rev": { N: String(loaded.rev) }, ":next": { N: String(loaded.rev + 1) } },
            }),
          );
        } else {
          // Only a label bucket can be absent (the head exists): an empty bucket is what its absence means.
          await io.putConditional(meta, owner, emptyOwnerBody, undefined, {}, nowMs);
        }
      } catch (error) {
        if (!(error instanceof StoreConflict) && !isConditionFailure(error)) throw error;
      }
    },
  };
  return io;
}
