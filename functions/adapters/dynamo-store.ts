/**
 * JobStore on DynamoDB (one table, keys `pk`/`sk`, TTL on `expires_at`). A job is a handful of
 * items under `pk = JOB#<id>`:
 *   HEAD      tenant, creation time, and the state's head: plan, flags, job-level executions,
 *             one summary per part. Creating a job is this one conditional write, so a job
 *             either exists whole or not at all.
 *   P#<n>     a part of originals with their executions and cached estimates
 *   T#<n>     a part of indicator tasks with its label sums
 *   REJ#<t>#<source>  a rejected input, for GET /v1/jobs/{id}/rejections
 * and, for the ticker, one marker per changed job under `pk = CHANGED#<shard>` (sk = job id,
 * with the version it announces), written after the job's items and removed once emitted: the
 * ticker finds changed jobs by querying 8 small partitions, never by scanning.
 * WCU are charged per KB of the whole item, so parts stay small (core/partition.ts), state is a
 * compact encoding (core/codec.ts), deflated when over 1 KB, and an item is written only when
 * its bytes changed. No transactions: each write is conditional on the revision loaded, and a
 * crash between writes heals because the head's copy of a part's summary is refreshed from the
 * part whenever the part is loaded again (core/state.ts).
 */
import {
  BatchGetItemCommand,
  type BatchGetItemCommandOutput,
  ConditionalCheckFailedException,
  DeleteItemCommand,
  PutItemCommand,
  QueryCommand,
  type AttributeValue,
  type ConsumedCapacity,
  type DynamoDBClient,
} from "@aws-sdk/client-dynamodb";
import { deflateRawSync, inflateRawSync } from "node:zlib";
import { decodeHead, encodeHead, encodeParts, encodeTaskParts, loadPart, loadTaskPart, type HeadCode } from "../../core/codec.ts";
import { StoreConflict } from "../../core/errors.ts";
import type { ChangedJob, JobMeta, JobStore, LoadedJob, RejectionRecord } from "../../core/ports.ts";
import { refreshEstimates } from "../../core/progress.ts";
import type { JobState } from "../../core/state.ts";
import { partsLinkedBy, partsTouchedBy } from "../../core/touched.ts";
import { hashId } from "../../core/partition.ts";
import { queryPartition } from "./dynamo-query.ts";

type Item = Record<string, AttributeValue>;

const COMPRESS_ABOVE_BYTES = 1024;
const ACTIVE_TTL_SECONDS = 30 * 24 * 3600;
const FINISHED_TTL_SECONDS = 7 * 24 * 3600;
const REJECTION_TTL_SECONDS = 30 * 24 * 3600;
const WRITE_CONCURRENCY = 16;
const CHANGE_SHARDS = 8;

export const jobKey = (jobId: string) => `JOB#${jobId}`;
const partKey = (part: number) => `P#${String(part).padStart(4, "0")}`;
const taskPartKey = (part: number) => `T#${String(part).padStart(4, "0")}`;

export interface StoreMetrics {
  writes: number;
  /** Conditional writes that lost a race (billed too, and counted in writeUnits). */
  failedWrites: number;
  writeUnits: number;
  maxItemBytes: number;
}

interface Handle {
  /** Revision and stored bytes of every item loaded, by sort key; absent = did not exist. */
  loaded: Map<string, { rev: number; bytes: string }>;
  parts: number[];
  taskParts: number[];
  /** The state's version when loaded: a save that moves it marks the job changed for the ticker. */
  loadedVersion: number;
}

export function createDynamoStore(options: { client: DynamoDBClient; tableName: string }): JobStore & { metrics: StoreMetrics } {
  const { client, tableName } = options;
  const metrics: StoreMetrics = { writes: 0, failedWrites: 0, writeUnits: 0, maxItemBytes: 0 };

  const countWrite = (capacity: ConsumedCapacity | undefined, bytes: number) => {
    metrics.writes++;
    metrics.writeUnits += capacity?.CapacityUnits ?? 0;
    metrics.maxItemBytes = Math.max(metrics.maxItemBytes, bytes);
  };

  async function batchGet(jobId: string, sortKeys: string[]): Promise<Map<string, Item>> {
    const found = new Map<string, Item>();
    for (let i = 0; i < sortKeys.length; i += 100) {
      let keys: Item[] | undefined = sortKeys.slice(i, i + 100).map((sk) => ({ pk: { S: jobKey(jobId) }, sk: { S: sk } }));
      for (let attempt = 0; keys !== undefined && keys.length > 0; attempt++) {
        if (attempt > 0) await sleep(Math.min(1000, 25 * 2 ** attempt));
        const result: BatchGetItemCommandOutput = await client.send(new BatchGetItemCommand({ RequestItems: { [tableName]: { Keys: keys, ConsistentRead: true } } }));
        for (const item of result.Responses?.[tableName] ?? []) found.set(item.sk!.S!, item);
        keys = result.UnprocessedKeys?.[tableName]?.Keys;
      }
    }
    return found;
  }

  async function putConditional(jobId: string, sk: string, body: string, previous: { rev: number } | undefined, extra: Item = {}, ttlSeconds = ACTIVE_TTL_SECONDS, nowMs = Date.now()) {
    const item: Item = {
      pk: { S: jobKey(jobId) },
      sk: { S: sk },
      rev: { N: String((previous?.rev ?? 0) + 1) },
      expires_at: { N: String(Math.floor(nowMs / 1000) + ttlSeconds) },
      ...encodeBody(body),
      ...extra,
    };
    const bytes = itemBytes(item);
    try {
      const result = await client.send(
        new PutItemCommand({
          TableName: tableName,
          Item: item,
          ConditionExpression: previous === undefined ? "attribute_not_exists(pk)" : "rev = :rev",
          ExpressionAttributeValues: previous === undefined ? undefined : { ":rev": { N: String(previous.rev) } },
          ReturnConsumedCapacity: "TOTAL",
        }),
      );
      countWrite(result.ConsumedCapacity, bytes);
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException || (error as Error).name === "ConditionalCheckFailedException") {
        // DynamoDB bills a write whose condition fails like one that succeeds; emulators report nothing.
        metrics.writeUnits += Math.max(1, Math.ceil(bytes / 1024));
        metrics.failedWrites++;
        throw new StoreConflict(`${jobKey(jobId)}/${sk}`, { cause: error });
      }
      throw error;
    }
  }

  /**
   * Writes every loaded item whose bytes changed, each conditional on the revision loaded. The
   * head goes first: every batch that changes a job changes its head (the version), so the head's
   * condition admits one writer per version and a loser learns it before spending writes on
   * parts. A crash after the head and before a part leaves the head's copy of that part's
   * summary ahead of the part until the batch is delivered again (it is, since it failed) and the
   * part is reloaded: a part's own summary always replaces the head's copy on load.
   * Creating a job is the head's first write.
   */
  async function writeItems(job: LoadedJob, nowMs: number): Promise<void> {
    const handle = job.handle as Handle;
    const { state, meta } = job;
    const ttl = state.terminal === null ? ACTIVE_TTL_SECONDS : FINISHED_TTL_SECONDS;
    const writeHead = async () => {
      const body = JSON.stringify(encodeHead(state));
      const previous = handle.loaded.get("HEAD");
      if (previous?.bytes !== body) await putConditional(meta.jobId, "HEAD", body, previous, { ...metaAttributes(meta), version: { N: String(state.version) } }, ttl, nowMs);
    };
    await writeHead();
    const writes: (() => Promise<void>)[] = [];
    const queue = (sk: string, body: string) => {
      const previous = handle.loaded.get(sk);
      if (previous?.bytes !== body) writes.push(() => putConditional(meta.jobId, sk, body, previous, {}, ttl, nowMs));
    };
    for (const [part, code] of encodeParts(state, handle.parts)) queue(partKey(part), JSON.stringify(code));
    for (const [part, code] of encodeTaskParts(state, handle.taskParts)) queue(taskPartKey(part), JSON.stringify(code));
    await runBounded(writes, WRITE_CONCURRENCY);
    if (state.version !== handle.loadedVersion) await markChanged(meta.jobId, state.version, nowMs);
  }

  async function markChanged(jobId: string, version: number, nowMs: number): Promise<void> {
    const item: Item = {
      pk: { S: `CHANGED#${hashId(jobId) % CHANGE_SHARDS}` },
      sk: { S: jobId },
      version: { N: String(version) },
      changed_at: { N: String(nowMs) },
      expires_at: { N: String(Math.floor(nowMs / 1000) + 24 * 3600) },
    };
    const result = await client.send(new PutItemCommand({ TableName: tableName, Item: item, ReturnConsumedCapacity: "TOTAL" }));
    countWrite(result.ConsumedCapacity, itemBytes(item));
  }

  function metaOf(item: Item): JobMeta {
    return { jobId: item.pk!.S!.slice(4), tenant: item.tenant!.S!, createdAtMs: Number(item.created_at!.N) };
  }

  function metaAttributes(meta: JobMeta): Item {
    return { tenant: { S: meta.tenant }, created_at: { N: String(meta.createdAtMs) } };
  }

  function loadInto(state: JobState, sk: string, item: Item): void {
    if (sk.startsWith("P#")) loadPart(state, Number(sk.slice(2)), JSON.parse(decodeBody(item)));
    else if (sk.startsWith("T#")) loadTaskPart(state, Number(sk.slice(2)), JSON.parse(decodeBody(item)));
  }

  const store: JobStore & { metrics: StoreMetrics } = {
    metrics,

    async createJob(meta, state) {
      try {
        const handle: Handle = { loaded: new Map(), parts: [...state.partTotals.keys()], taskParts: [...state.taskSums.keys()], loadedVersion: -1 };
        await writeItems({ meta, state, handle }, meta.createdAtMs);
        return true;
      } catch (error) {
        if (error instanceof StoreConflict) return false;
        throw error;
      }
    },

    async getMeta(jobId) {
      const item = (await batchGet(jobId, ["HEAD"])).get("HEAD");
      return item === undefined ? null : metaOf(item);
    },

    async loadForBatch(jobId, events) {
      const headItem = (await batchGet(jobId, ["HEAD"])).get("HEAD");
      if (headItem === undefined) return null;
      const meta = metaOf(headItem);
      const headBody = decodeBody(headItem);
      const state = decodeHead(JSON.parse(headBody) as HeadCode);
      const touched = partsTouchedBy(state, events);
      const parts = touched.isEverything ? [...Array(state.partCount).keys()] : [...touched.parts];
      const taskParts = [...touched.taskParts];
      const handle: Handle = { loaded: new Map([["HEAD", { rev: Number(headItem.rev!.N), bytes: headBody }]]), parts, taskParts, loadedVersion: state.version };
      const items = await batchGet(jobId, [...parts.map(partKey), ...taskParts.map(taskPartKey)]);
      // A loaded part rebuilds its summary from its contents; a part with no item yet has none.
      for (const part of parts) state.partTotals.delete(part);
      for (const part of taskParts) state.taskSums.delete(part);
      const load = (loaded: Map<string, Item>) => {
        for (const [sk, item] of loaded) {
          loadInto(state, sk, item);
          handle.loaded.set(sk, { rev: Number(item.rev!.N), bytes: decodeBody(item) });
        }
      };
      load(items);
      // Reports naming only their input follow the input's link to its original's part.
      const linked = [...partsLinkedBy(state, events)].filter((part) => !parts.includes(part));
      if (linked.length > 0) {
        for (const part of linked) state.partTotals.delete(part);
        parts.push(...linked);
        load(await batchGet(jobId, linked.map(partKey)));
      }
      return { meta, state, handle };
    },

    async save(job, nowMs) {
      await writeItems(job, nowMs);
    },

    async loadJob(jobId) {
      // Only the state's items: the partition also holds rejections (REJ#), subscribers (SUB#) and
      // webhook records (WH…), which sort after the head and the parts (HEAD < P# < REJ# < SUB# < T#).
      const [headAndParts, taskParts] = await Promise.all([
        queryPartition(client, tableName, jobKey(jobId), { between: ["HEAD", "P#~"], consistent: true }),
        queryPartition(client, tableName, jobKey(jobId), { prefix: "T#", consistent: true }),
      ]);
      const headItem = headAndParts.find((item) => item.sk!.S === "HEAD");
      if (headItem === undefined) return null;
      const state = decodeHead(JSON.parse(decodeBody(headItem)) as HeadCode);
      for (const item of [...headAndParts, ...taskParts]) if (item !== headItem) loadInto(state, item.sk!.S!, item);
      refreshEstimates(state);
      return { meta: metaOf(headItem), state };
    },

    async changedJobs() {
      const changed: ChangedJob[] = [];
      for (let shard = 0; shard < CHANGE_SHARDS; shard++) {
        let start: Item | undefined;
        do {
          const result = await client.send(
            new QueryCommand({ TableName: tableName, KeyConditionExpression: "pk = :pk", ExpressionAttributeValues: { ":pk": { S: `CHANGED#${shard}` } }, ExclusiveStartKey: start }),
          );
          for (const item of result.Items ?? []) changed.push({ jobId: item.sk!.S!, version: Number(item.version!.N), changedAtMs: Number(item.changed_at?.N ?? 0) });
          start = result.LastEvaluatedKey;
        } while (start !== undefined);
      }
      return changed;
    },

    async clearChanged(jobId, version) {
      try {
        await client.send(
          new DeleteItemCommand({
            TableName: tableName,
            Key: { pk: { S: `CHANGED#${hashId(jobId) % CHANGE_SHARDS}` }, sk: { S: jobId } },
            // A newer change announced meanwhile stays for the next tick.
            ConditionExpression: "version <= :version",
            ExpressionAttributeValues: { ":version": { N: String(version) } },
          }),
        );
      } catch (error) {
        if ((error as Error).name !== "ConditionalCheckFailedException") throw error;
      }
    },

    async recordRejections(records) {
      await runBounded(
        records.map((record) => async () => {
          const item: Item = {
            pk: { S: jobKey(record.jobId) },
            sk: { S: `REJ#${String(record.atMs).padStart(15, "0")}#${record.source}` },
            code: { S: record.code },
            reason: { S: record.reason.slice(0, 2000) },
            source: { S: record.source },
            excerpt: { S: record.excerpt.slice(0, 1000) },
            at: { N: String(record.atMs) },
            expires_at: { N: String(Math.floor(record.atMs / 1000) + REJECTION_TTL_SECONDS) },
          };
          const result = await client.send(new PutItemCommand({ TableName: tableName, Item: item, ReturnConsumedCapacity: "TOTAL" }));
          countWrite(result.ConsumedCapacity, itemBytes(item));
        }),
        WRITE_CONCURRENCY,
      );
    },

    async listRejections(jobId, limit) {
      const result = await client.send(
        new QueryCommand({
          TableName: tableName,
          KeyConditionExpression: "pk = :pk AND begins_with(sk, :prefix)",
          ExpressionAttributeValues: { ":pk": { S: jobKey(jobId) }, ":prefix": { S: "REJ#" } },
          ScanIndexForward: false,
          Limit: limit,
        }),
      );
      return (result.Items ?? []).map((item) => ({
        jobId,
        code: item.code!.S!,
        reason: item.reason!.S!,
        source: item.source!.S!,
        excerpt: item.excerpt!.S!,
        atMs: Number(item.at!.N),
      }));
    },
  };
  return store;
}

function encodeBody(body: string): Item {
  if (body.length <= COMPRESS_ABOVE_BYTES) return { d: { S: body } };
  return { z: { B: deflateRawSync(body) } };
}

function decodeBody(item: Item): string {
  if (item.d?.S !== undefined) return item.d.S;
  const compressed = item.z?.B;
  if (compressed === undefined) throw new Error(`item ${item.pk?.S}/${item.sk?.S} has no body`);
  return inflateRawSync(compressed).toString("utf8");
}

/** Item size as DynamoDB bills it: attribute names plus values. */
function itemBytes(item: Item): number {
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
async function runBounded(tasks: (() => Promise<void>)[], concurrency: number): Promise<void> {
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

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

