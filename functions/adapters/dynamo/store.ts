/**
 * JobStore on DynamoDB (one table, keys `pk`/`sk`, TTL on `expires_at`). A job's state is a tree of
 * small items under `pk = JOB#<id>` (core/estimator/partition.ts), none of which grows with the job:
 *   HEAD       tenant, creation time, and the state's head: plan, flags, job-level executions, the
 *              number of parts, summary copies of parts 0–255, of each further group of 256
 *              parts, and of each label bucket. Creating a job is this one conditional write.
 *   G#<g>      summary copies of the parts of group g (parts 256·g … 256·g+255), for g ≥ 1
 *   P#<n>      a part of the originals with their executions
 *   L#<b>      a label bucket: its labels (≤ 1,000 per job in 32 buckets), how many parts its
 *              tasks have, and each task part's label sums
 *   T#<b>#<n>  a part of the tasks of bucket b's labels
 * The rejection log (`REJ#…` items, rejections.ts) and the change feed the ticker reads
 * (`CHANGED#<shard>` markers, change-feed.ts, written after a job's items) complete the
 * port; key formats and item bodies are in items.ts, and reading a whole job at one version
 * (for snapshots) in job-read.ts.
 *
 * WCU are charged per KB of the whole item, so state is a compact encoding (core/storage/codec.ts),
 * deflated when over 1 KB, an item is written only when its bytes changed, and a part whose
 * stored item passes SPLIT_ITEM_BYTES is split (linear hashing: the collection grows by one part,
 * which takes over part of one older part). No transactions: each write is conditional on the
 * revision loaded, and a crash between any two writes heals, because
 * - a parent's copy of a child's summary is replaced by the child's own whenever the child is
 *   loaded (a redelivered batch loads the same children again);
 * - a split writes the new part (and, for originals, its group's copy of its summary) first,
 *   then the item that declares the larger count (the head for originals, the label bucket for
 *   tasks), then the shrunk old part: before the count is
 *   written the new part is ignored (and overwritten by the next split), after it the records
 *   still left in the old part no longer map to it and are ignored on load.
 */
import { randomUUID } from "node:crypto";
import {
  ConditionalCheckFailedException,
  PutItemCommand,
  UpdateItemCommand,
  type ConsumedCapacity,
  type DynamoDBClient,
} from "@aws-sdk/client-dynamodb";
import { FORCE_SPLIT_ITEM_BYTES, MAX_JOB_PARTS, MAX_PARTS, MAX_SPLITS_PER_SAVE, SPLIT_ITEM_BYTES, allExecutions, bucketOfTask, completeLoad, decodeHead, encodeBucket, encodeEmptyBucket, encodeGroups, encodeHead, encodeJobPart, encodeJobParts, encodeParts, encodeTaskParts, groupOf, growJobParts, growOriginals, growTasks, jobPartOf, jobPartsTouchedBy, labelBucketsTouchedBy, loadBucket, loadGroup, loadJobPart, loadPart, loadTaskPart, partOf, partsLinkedBy, partsTouchedBy, splitSource, taskPartsTouchedBy, type Execution, type HeadCode, type OriginalState, type TaskTally } from "../../../core/storage/index.ts";
import { ItemTooLarge, StoreConflict } from "../../../core/errors.ts";
import type { ChangeFeed, JobIndex, JobMeta, JobRef, JobStore, LoadedJob, RejectionLog } from "../../../core/ports.ts";
import { createItemReader, deleteItems, queryPartition } from "./query.ts";
import { createDynamoRejectionLog } from "./rejections.ts";
import { createDynamoChangeFeed } from "./change-feed.ts";
import { createDynamoJobIndex } from "./job-index.ts";
import { createWholeJobRead } from "./job-read.ts";
import { bucketKey, decodeBody, encodeBody, groupKey, HEAD, headKey, isExpired, itemBytes, jobKey, jobPartKey, metaOf, partKey, readUnitsOf, runBounded, storedBytes, taskPartKey, type Item } from "./items.ts";
import { isStampCommitted, stampOf } from "./versions.ts";

/**
 * How long a job is kept after its last activity (a write of its head): 30 days while it runs, 7
 * once it ended. Only the head carries an expiry: parts have none, so a job stays whole however
 * long it runs without any write touching the parts it did not change (the WCU target), and once
 * the head expires the reaper (functions/reaper.ts) removes the rest.
 */
export const ACTIVE_RETENTION_SECONDS = 30 * 24 * 3600;
export const FINISHED_RETENTION_SECONDS = 7 * 24 * 3600;
const WRITE_CONCURRENCY = 16;
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

interface Handle {
  /** Revision and stored bytes of every item loaded, by sort key; absent = did not exist. */
  loaded: Map<string, { rev: number; bytes: string; isAhead?: boolean }>;
  /** The head's stamp when loaded: items stamped past it are of a write that never committed. */
  headStamp: { version: number; writeId: string | undefined };
  /** What was loaded, and is written back where its bytes changed. */
  parts: Set<number>;
  groups: Set<number>;
  buckets: Set<number>;
  taskParts: Map<number, Set<number>>;
  jobParts: Set<number>;
  /** Part counts as stored: parts at or above them are new, written before the item that declares them. */
  storedPartCount: number;
  storedJobPartCount: number;
  storedTaskPartCounts: Map<number, number>;
  /** A new job: its head is written conditional on the id being free. */
  isCreation: boolean;
}

export type DynamoStore = JobStore & {
  metrics: StoreMetrics;
  changeFeed: ChangeFeed;
  rejections: RejectionLog;
  jobIndex: JobIndex;
  /** Removes everything a job whose head is gone owned (its items, its index entry, its change marker); resolves with the items removed. */
  forget(meta: JobMeta): Promise<number>;
};

export function createDynamoStore(options: {
  client: DynamoDBClient;
  tableName: string;
  /** Tests only: a small value makes small jobs split, to exercise splits and their crashes. */
  splitItemBytes?: number;
  /** The clock items are stamped and judged by (expiry, writes in progress); tests inject one. */
  now?: () => number;
}): DynamoStore {
  const { client, tableName } = options;
  const now = options.now ?? Date.now;
  /** Head and label buckets live apart from the rest of the job (see items.ts). */
  const pkOf = (meta: JobMeta, sk: string) => (sk === HEAD ? headKey(meta) : jobKey(meta));
  const splitItemBytes = options.splitItemBytes ?? SPLIT_ITEM_BYTES;
  const metrics: StoreMetrics = { writes: 0, failedWrites: 0, writeUnits: 0, readUnits: 0, maxItemBytes: 0, maxItemKey: "", splits: 0 };
  const countRead = (item: Item) => (metrics.readUnits += readUnitsOf(item));
  const readItem = createItemReader(client, tableName);

  const countWrite = (capacity: ConsumedCapacity | undefined, bytes: number, sk = "") => {
    metrics.writes++;
    metrics.writeUnits += capacity?.CapacityUnits ?? 0;
    if (bytes > metrics.maxItemBytes) {
      metrics.maxItemBytes = bytes;
      metrics.maxItemKey = sk;
    }
  };

  /** Through the item reader: the parts of jobs loaded side by side go out in one request. */
  async function batchGet(meta: JobMeta, sortKeys: string[]): Promise<Map<string, Item>> {
    const items = await Promise.all(sortKeys.map((sk) => readItem({ pk: pkOf(meta, sk), sk })));
    const found = new Map<string, Item>();
    for (const item of items) {
      if (item === undefined) continue;
      countRead(item);
      found.set(item.sk!.S!, item);
    }
    return found;
  }

  /**
   * A conditional put: on the revision loaded (`{rev}`), on absence (`undefined`), or, for a part a
   * split creates (`{born}`), on the part being absent or left by a split older than this one.
   * `born` is the revision the part's owner (the head, or its label bucket) will have once this
   * split is committed: a writer that loaded the owner before another writer committed the same
   * split has a `born` no larger than the stored one, and loses instead of overwriting a live part.
   * A live part, rewritten with a plain revision, has no `born` at all, so it is never overwritten
   * as a new one either.
   */
  async function putConditional(
    meta: JobMeta,
    sk: string,
    body: string,
    previous: { rev: number } | { born: number } | undefined,
    extra: Item = {},
    nowMs = now(),
  ) {
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
      const result = await client.send(
        new PutItemCommand({
          TableName: tableName,
          Item: item,
          ...(previous === undefined
            ? sk === HEAD
              ? // A new job may take the id of one whose head expired and still waits for TTL's deletion.
                { ConditionExpression: "attribute_not_exists(pk) OR expires_at < :now", ExpressionAttributeValues: { ":now": { N: String(Math.floor(nowMs / 1000)) } } }
              : { ConditionExpression: "attribute_not_exists(pk)" }
            : "born" in previous
              ? { ConditionExpression: "attribute_not_exists(pk) OR born < :born", ExpressionAttributeValues: { ":born": { N: String(previous.born) } } }
              : { ConditionExpression: "rev = :rev", ExpressionAttributeValues: { ":rev": { N: String(previous.rev) } } }),
          ReturnConsumedCapacity: "TOTAL",
        }),
      );
      countWrite(result.ConsumedCapacity, bytes, sk);
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException || (error as Error).name === "ConditionalCheckFailedException") {
        // DynamoDB bills a write whose condition fails like one that succeeds; emulators report nothing.
        metrics.writeUnits += Math.max(1, Math.ceil(bytes / 1024));
        metrics.failedWrites++;
        throw new StoreConflict(`${pkOf(meta, sk)}/${sk}`, { cause: error });
      }
      throw error;
    }
  }

  /**
   * An item body that could not be stored: DynamoDB refuses items over 400 KB (names and values).
   * Bodies are deflated when stored, so only a body whose raw UTF-8 could pass the limit is
   * measured (the common item costs nothing here).
   */
  function checkFits(sk: string, body: string): void {
    if (body.length * 3 <= MAX_BODY_BYTES) return;
    const bytes = storedBytes(body);
    if (bytes > MAX_BODY_BYTES) throw new ItemTooLarge(sk, bytes);
  }

  /**
   * A new part's item exists with a `born` as large as ours: either a writer that loaded the same
   * owner committed this split (then the owner moved and this bump fails: we reload and see it),
   * or an attempt that never committed left it (then nobody moves the owner, and every retry
   * would lose the same way). Moving the owner's revision settles both: a writer in flight with
   * the old revision loses at the owner, and our retry gets a larger `born`.
   */
  async function fence(meta: JobMeta, owner: string, loaded: { rev: number } | undefined, nowMs: number): Promise<void> {
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
        await putConditional(meta, owner, JSON.stringify(encodeEmptyBucket()), undefined, {}, nowMs);
      }
    } catch (error) {
      if (!(error instanceof StoreConflict) && (error as Error).name !== "ConditionalCheckFailedException") throw error;
    }
  }

  /** Reads items the handle has not seen yet; records their revisions (absent ones stay absent). */
  async function readMore(meta: JobMeta, handle: Handle, sortKeys: string[]): Promise<Map<string, Item>> {
    const items = await batchGet(meta, sortKeys.filter((sk) => !handle.loaded.has(sk)));
    // An item of a write that never committed (it crashed before its head) is written again under
    // this write's stamp even where its bytes are already right: so the redelivered batch commits it.
    for (const [sk, item] of items) handle.loaded.set(sk, { rev: Number(item.rev!.N), bytes: decodeBody(item), isAhead: !isStampCommitted(item, handle.headStamp) });
    return items;
  }

  const bodyOf = (handle: Handle, sk: string, items: Map<string, Item>) => (items.has(sk) ? JSON.parse(handle.loaded.get(sk)!.bytes) : null);

  /** Loads a part of originals (with its group) after the batch was applied, to split it. */
  async function loadPartLate(job: LoadedJob, part: number): Promise<void> {
    const handle = job.handle as Handle;
    if (handle.parts.has(part)) return;
    const group = groupOf(part);
    const keys = [partKey(part), ...(group > 0 && !handle.groups.has(group) ? [groupKey(group)] : [])];
    const items = await readMore(job.meta, handle, keys);
    if (group > 0 && !handle.groups.has(group)) {
      loadGroup(job.state, group, bodyOf(handle, groupKey(group), items));
      handle.groups.add(group);
    }
    loadPart(job.state, part, bodyOf(handle, partKey(part), items));
    handle.parts.add(part);
    completeLoad(job.state);
  }

  /**
   * Splits parts whose item would pass SPLIT_ITEM_BYTES: grows the collection by one part at a
   * time (loading the part that splits; the new part is not read: whatever an item of it holds is
   * left from a split that never got its count written, see putConditional), up to
   * MAX_SPLITS_PER_SAVE per save, or past that while an item would pass FORCE_SPLIT_ITEM_BYTES.
   * A part of a single record cannot be split (and records are bounded: see docs/storage.md, Limits).
   */
  async function splitHeavyParts(job: LoadedJob): Promise<void> {
    const handle = job.handle as Handle;
    const { state } = job;
    const meta = job.meta;
    const budget = { splits: 0 };
    await splitCollection<OriginalState>(handle, budget, {
      parts: handle.parts,
      sortKey: partKey,
      all: () => state.originals.values(),
      partOf: (original) => partOf(original.id, state.partCount),
      encode: (part, originals) => {
        const code = encodeParts(state, [part], originals).get(part)!;
        return { body: JSON.stringify(code), records: code.originals.length };
      },
      count: () => state.partCount,
      prepare: async (source, target) => {
        await loadPartLate(job, source);
        const group = groupOf(target);
        if (group > 0 && !handle.groups.has(group)) {
          const items = await readMore(meta, handle, [groupKey(group)]);
          // A group beyond the stored count holds only leftovers of an interrupted split.
          loadGroup(state, group, group <= groupOf(handle.storedPartCount - 1) ? bodyOf(handle, groupKey(group), items) : null);
          handle.groups.add(group);
        }
      },
      grow: (candidates) => void growOriginals(state, candidates),
    });
    await splitCollection<Execution>(handle, budget, {
      parts: handle.jobParts,
      sortKey: jobPartKey,
      all: () => allExecutions(state.jobExecutions),
      partOf: (execution) => jobPartOf(execution, state.jobPartCount),
      encode: (_part, executions) => ({ body: JSON.stringify(encodeJobPart(executions)), records: executions.length }),
      count: () => state.jobPartCount,
      maxParts: MAX_JOB_PARTS,
      prepare: async (source) => {
        if (handle.jobParts.has(source)) return;
        const items = await readMore(meta, handle, [jobPartKey(source)]);
        loadJobPart(state, source, bodyOf(handle, jobPartKey(source), items));
        handle.jobParts.add(source);
      },
      grow: () => void growJobParts(state, splitSource(state.jobPartCount)),
    });
    for (const [bucket, parts] of handle.taskParts) {
      const labelBucket = state.labelBuckets.get(bucket)!;
      await splitCollection<[string, TaskTally]>(handle, budget, {
        parts,
        sortKey: (part) => taskPartKey(bucket, part),
        all: () => [...state.tasks].filter(([key]) => bucketOfTask(key) === bucket),
        partOf: ([key]) => partOf(key, labelBucket.taskPartCount),
        encode: (part, tasks) => {
          const code = encodeTaskParts(state, bucket, [part], tasks).get(part)!;
          return { body: JSON.stringify(code), records: code.tasks.length };
        },
        count: () => labelBucket.taskPartCount,
        prepare: async (source) => {
          if (!parts.has(source)) {
            const items = await readMore(meta, handle, [taskPartKey(bucket, source)]);
            loadTaskPart(state, bucket, source, bodyOf(handle, taskPartKey(bucket, source), items));
          }
        },
        grow: (candidates) => void growTasks(state, bucket, candidates),
      });
    }
    metrics.splits += budget.splits;
  }

  /** One collection's split loop; records are indexed by part once, so a split costs the size of its part, not of the job. */
  async function splitCollection<R>(
    handle: Handle,
    budget: { splits: number },
    c: {
      parts: Set<number>;
      sortKey: (part: number) => string;
      all: () => Iterable<R>;
      partOf: (record: R) => number;
      encode: (part: number, records: R[]) => { body: string; records: number };
      count: () => number;
      /** Parts the collection may have (MAX_PARTS unless said). */
      maxParts?: number;
      prepare: (source: number, target: number) => Promise<void>;
      grow: (candidates: R[]) => void;
    },
  ): Promise<void> {
    const byPart = new Map<number, R[]>();
    const index = () => {
      byPart.clear();
      for (const record of c.all()) {
        const part = c.partOf(record);
        let records = byPart.get(part);
        if (records === undefined) byPart.set(part, (records = []));
        records.push(record);
      }
    };
    index();
    // The stored size of each part that could split (changed by this batch: an unchanged part is
    // not written now; more than one record; over the threshold), or 0.
    const sizeOf = (part: number): number => {
      const { body, records } = c.encode(part, byPart.get(part) ?? []);
      if (records < 2 || body.length <= splitItemBytes / 3 || handle.loaded.get(c.sortKey(part))?.bytes === body) return 0;
      return Buffer.byteLength(body) <= splitItemBytes ? 0 : storedBytes(body);
    };
    const sizes = new Map<number, number>();
    for (const part of c.parts) sizes.set(part, sizeOf(part));
    for (;;) {
      let heaviest = 0;
      for (const bytes of sizes.values()) if (bytes > heaviest) heaviest = bytes;
      if (heaviest <= splitItemBytes || (budget.splits >= MAX_SPLITS_PER_SAVE && heaviest <= FORCE_SPLIT_ITEM_BYTES) || c.count() >= (c.maxParts ?? MAX_PARTS)) return;
      const target = c.count();
      const source = splitSource(target);
      const isLoaded = c.parts.has(source);
      await c.prepare(source, target);
      if (!isLoaded) index(); // the source was loaded just now
      c.grow(byPart.get(source) ?? []);
      const moving = byPart.get(source) ?? [];
      byPart.set(source, moving.filter((record) => c.partOf(record) === source));
      byPart.set(target, moving.filter((record) => c.partOf(record) === target));
      c.parts.add(source);
      c.parts.add(target);
      for (const part of [source, target]) sizes.set(part, sizeOf(part));
      budget.splits++;
    }
  }

  /**
   * Writes every loaded item whose bytes changed, each conditional on the revision loaded and
   * stamped with the version it belongs to and this write's id, in an order that keeps every crash
   * healable and every read of one version:
   * - new parts (of splits) first, and the groups that keep parts' summaries, so that once the
   *   head declares a new part its summary is in its group;
   * - then label buckets (which declare their task parts, before the shrunk older task parts);
   * - then the older parts;
   * - the head last: it carries the version and write id that readers check every item against
   *   (an item stamped with a later version, or the same version by another write, is of a write
   *   not yet committed: the read is retried). A batch that splits a part of originals must
   *   declare the new part count before the shrunk old part is written: it writes the head twice,
   *   first marked `open` (readers wait), at the end closed.
   * A crash leaves children ahead of their parents' copies until the batch is delivered again (it
   * is, since it failed): a child's own summary always replaces its parent's copy on load.
   * A new job writes its head last too, conditional on the id being free, under a fresh
   * incarnation, so that a taken id leaves nothing anyone reads.
   */
  async function writeItems(job: LoadedJob, nowMs: number): Promise<void> {
    await splitHeavyParts(job);
    const handle = job.handle as Handle;
    const { state, meta } = job;
    const retentionSeconds = state.terminal === null ? ACTIVE_RETENTION_SECONDS : FINISHED_RETENTION_SECONDS;
    const writeId = randomUUID().slice(0, 8);
    const newParts: [string, string, number, string][] = [];
    const groups: [string, string][] = [];
    const buckets: [string, string][] = [];
    const older: [string, string][] = [];
    const bornOf = (owner: string) => (handle.loaded.get(owner)?.rev ?? 0) + 1;
    for (const [part, code] of encodeParts(state, handle.parts)) {
      if (part >= handle.storedPartCount) newParts.push([partKey(part), JSON.stringify(code), bornOf(HEAD), HEAD]);
      else older.push([partKey(part), JSON.stringify(code)]);
    }
    for (let part = handle.storedPartCount; part < state.partCount; part++) if (groupOf(part) > 0) handle.groups.add(groupOf(part));
    for (const [group, code] of encodeGroups(state, handle.groups)) groups.push([groupKey(group), JSON.stringify(code)]);
    for (const bucket of handle.buckets) buckets.push([bucketKey(bucket), JSON.stringify(encodeBucket(state, bucket))]);
    for (const [bucket, parts] of handle.taskParts) {
      const stored = handle.storedTaskPartCounts.get(bucket) ?? 1;
      for (const [part, code] of encodeTaskParts(state, bucket, parts)) {
        if (part >= stored) newParts.push([taskPartKey(bucket, part), JSON.stringify(code), bornOf(bucketKey(bucket)), bucketKey(bucket)]);
        else older.push([taskPartKey(bucket, part), JSON.stringify(code)]);
      }
    }
    for (const [part, code] of encodeJobParts(state, handle.jobParts)) {
      // An empty job part that has no item (most jobs have no job-level executions) stays without one.
      if (code.executions.length === 0 && !handle.loaded.has(jobPartKey(part))) continue;
      if (part >= handle.storedJobPartCount) newParts.push([jobPartKey(part), JSON.stringify(code), bornOf(HEAD), HEAD]);
      else older.push([jobPartKey(part), JSON.stringify(code)]);
    }
    const changed = (items: [string, string][]) => items.filter(([sk, body]) => handle.loaded.get(sk)?.bytes !== body || handle.loaded.get(sk)?.isAhead === true);
    const toWrite = { groups: changed(groups), buckets: changed(buckets), older: changed(older) };
    // Nothing is written if any item would be refused for its size: the caller refuses the events that grow it.
    for (const [sk, body] of [...newParts, ...toWrite.groups, ...toWrite.buckets, ...toWrite.older]) checkFits(sk, body);
    // Items are stamped with the head's version and this write's id: any item written means the head is too, or readers would wait for it.
    const isAnyItemWritten = newParts.length + toWrite.groups.length + toWrite.buckets.length + toWrite.older.length > 0;
    // Every write that writes items moves the version (even one that only commits another's
    // leftovers), so two writes share a version only when both loaded the same head, and then
    // at most one of them commits.
    if (isAnyItemWritten && state.version <= handle.headStamp.version) state.version = handle.headStamp.version + 1;
    const stamp: Item = { ver: { N: String(state.version) }, w: { S: writeId }, at: { N: String(now()) } };
    const put = ([sk, body]: [string, string]) => () => putConditional(meta, sk, body, handle.loaded.get(sk), stamp, nowMs);
    const headBody = JSON.stringify(encodeHead(state));
    checkFits(HEAD, headBody);
    const writeHead = async (isOpen: boolean) => {
      const previous = handle.loaded.get(HEAD);
      const attributes: Item = {
        ...metaAttributes(meta),
        ...stamp,
        version: { N: String(state.version) },
        ...(isOpen ? { open: { BOOL: true } } : {}),
        // The job's expiry, moved by every write of it: the only item of the job that expires.
        expires_at: { N: String(Math.floor(nowMs / 1000) + retentionSeconds) },
      };
      await putConditional(meta, HEAD, headBody, previous, attributes, nowMs);
      handle.loaded.set(HEAD, { rev: (previous?.rev ?? 0) + 1, bytes: isOpen ? "" : headBody });
    };
    const fenced = new Set<string>();
    await runBounded(
      newParts.map(([sk, body, born, owner]) => async () => {
        try {
          await putConditional(meta, sk, body, { born }, stamp, nowMs);
        } catch (error) {
          if (error instanceof StoreConflict && !fenced.has(owner)) {
            fenced.add(owner);
            await fence(meta, owner, handle.loaded.get(owner), nowMs);
          }
          throw error;
        }
      }),
      WRITE_CONCURRENCY,
    );
    await runBounded(toWrite.groups.map(put), WRITE_CONCURRENCY);
    if (!handle.isCreation && (state.partCount > handle.storedPartCount || state.jobPartCount > handle.storedJobPartCount)) await writeHead(true);
    await runBounded(toWrite.buckets.map(put), WRITE_CONCURRENCY);
    await runBounded(toWrite.older.map(put), WRITE_CONCURRENCY);
    if (handle.isCreation) await jobIndex.add(meta);
    if (isAnyItemWritten || handle.loaded.get(HEAD)?.bytes !== headBody) await writeHead(false);
  }

  function metaAttributes(meta: JobMeta): Item {
    return { inc: { S: meta.incarnation }, created_at: { N: String(meta.createdAtMs) } };
  }

  /** The head, or null when there is none or it has expired (TTL deletes expired items only eventually). */
  async function readHead(ref: JobRef): Promise<Item | null> {
    const item = await readItem({ pk: headKey(ref), sk: HEAD });
    metrics.readUnits += item === undefined ? 1 : readUnitsOf(item);
    if (item === undefined || isExpired(item, now())) return null;
    return item;
  }

  /**
   * Rolls an abandoned write forward (README, "A writer that died"): loads the whole job, every
   * leaf as it is stored, and saves it with no events, as a redelivered batch would. The leaves
   * the dead write stored (ahead of the head) are written again under this write's stamp, the head
   * rebuilt from the leaves (its summary copies, a split's part count) commits them as a new
   * version, and the version is announced so that the ticker pushes it. Conditional like every
   * write: if another writer commits first, this one loses and the reader reads theirs.
   */
  async function rollForward(ref: JobRef): Promise<void> {
    try {
      const job = await loadWhole(ref);
      if (job === null) return;
      await writeItems(job, now());
      await changeFeed.markChanged([{ meta: job.meta, version: job.state.version }], now());
    } catch (error) {
      if (!(error instanceof StoreConflict)) throw error;
    }
  }

  /** The head and every leaf of a job (a range read of its partition), loaded for a save. */
  async function loadWhole(ref: JobRef): Promise<LoadedJob | null> {
    const headItem = await readHead(ref);
    if (headItem === null) return null;
    const meta = metaOf(ref, headItem);
    const headBody = decodeBody(headItem);
    const state = decodeHead(JSON.parse(headBody) as HeadCode);
    const headStamp = stampOf(headItem);
    const leaves = new Map<string, Item>();
    for (const item of await queryPartition(client, tableName, jobKey(meta), { between: ["G#", "T#~"], consistent: true })) {
      const sk = item.sk!.S!;
      if (/^[GJLPT]#/.test(sk)) {
        leaves.set(sk, item);
        countRead(item);
      }
    }
    const loaded: Handle["loaded"] = new Map([[HEAD, { rev: Number(headItem.rev!.N), bytes: headItem.open?.BOOL === true ? "" : headBody }]]);
    for (const [sk, item] of leaves) loaded.set(sk, { rev: Number(item.rev!.N), bytes: decodeBody(item), isAhead: !isStampCommitted(item, headStamp) });
    const body = (sk: string) => (leaves.has(sk) ? JSON.parse(loaded.get(sk)!.bytes) : null);
    // Every label bucket: those the head names, and any the dead write made.
    const buckets = new Set([...state.labelBucketTotals.keys(), ...[...leaves.keys()].filter((sk) => sk.startsWith("L#")).map((sk) => Number(sk.slice(2)))]);
    for (const bucket of buckets) loadBucket(state, bucket, body(bucketKey(bucket)));
    const groups = new Set(Array.from({ length: state.partCount }, (_, part) => groupOf(part)).filter((group) => group > 0));
    for (const group of groups) loadGroup(state, group, body(groupKey(group)));
    const parts = new Set(Array.from({ length: state.partCount }, (_, part) => part));
    for (const part of parts) loadPart(state, part, body(partKey(part)));
    const taskParts = new Map<number, Set<number>>();
    for (const bucket of buckets) {
      const count = state.labelBuckets.get(bucket)!.taskPartCount;
      taskParts.set(bucket, new Set(Array.from({ length: count }, (_, part) => part)));
      for (let part = 0; part < count; part++) loadTaskPart(state, bucket, part, body(taskPartKey(bucket, part)));
    }
    const jobParts = new Set(Array.from({ length: state.jobPartCount }, (_, part) => part));
    for (const part of jobParts) if (!state.loadedJobParts.has(part)) loadJobPart(state, part, body(jobPartKey(part)));
    completeLoad(state);
    const handle: Handle = {
      loaded,
      parts,
      groups,
      buckets,
      taskParts,
      jobParts,
      storedJobPartCount: state.jobPartCount,
      storedPartCount: state.partCount,
      storedTaskPartCounts: new Map([...buckets].map((bucket) => [bucket, state.labelBuckets.get(bucket)!.taskPartCount])),
      isCreation: false,
      headStamp,
    };
    return { meta, state, handle };
  }

  /** Removes what a refused create wrote; what a failure here leaves is never read (a fresh incarnation) and the list drops its entry. */
  const undoCreation = (meta: JobMeta) => store.forget(meta);

  const changeFeed = createDynamoChangeFeed({ client, tableName, countWrite, metrics });
  const jobIndex = createDynamoJobIndex({ client, tableName, countWrite, now });

  const rejections = createDynamoRejectionLog({ client, tableName, countWrite, metrics });

  const store: DynamoStore = {
    metrics,
    changeFeed,
    rejections,
    jobIndex,

    async forget(meta) {
      const items = await queryPartition(client, tableName, jobKey(meta), { attributes: ["pk", "sk"] });
      await deleteItems(client, tableName, items.map((item) => ({ pk: item.pk!, sk: item.sk! })));
      await jobIndex.remove(meta);
      await changeFeed.clearChanged({ ...meta, version: 0, changedAtMs: 0 }, Number.MAX_SAFE_INTEGER);
      return items.length;
    },

    async createJob(meta, state) {
      // A taken id is refused before anything is written (DESIGN §4: a refused request leaves no trace).
      if ((await readHead(meta)) !== null) return false;
      const parts = new Set([...state.partTotals.keys()].filter((key) => key >= 0));
      const taskParts = new Map([...state.labelBuckets].map(([bucket, { taskSums }]) => [bucket, new Set(taskSums.keys())]));
      const handle: Handle = {
        loaded: new Map(),
        parts,
        groups: new Set([...parts].map(groupOf).filter((group) => group > 0)),
        buckets: new Set(state.labelBuckets.keys()),
        taskParts,
        jobParts: new Set(state.loadedJobParts),
        storedJobPartCount: state.jobPartCount,
        storedPartCount: state.partCount,
        storedTaskPartCounts: new Map([...state.labelBuckets].map(([bucket, { taskPartCount }]) => [bucket, taskPartCount])),
        isCreation: true,
        headStamp: { version: -1, writeId: undefined },
      };
      try {
        await writeItems({ meta, state, handle }, meta.createdAtMs);
        return true;
      } catch (error) {
        if (!(error instanceof StoreConflict)) throw error;
        // Another create took the id between our read and our head: take back what this one wrote
        // (its index entry, and the items under its incarnation, which nothing reads).
        await undoCreation(meta);
        return false;
      }
    },

    async loadForBatch(ref, events) {
      const headItem = await readHead(ref);
      if (headItem === null) return null;
      const meta = metaOf(ref, headItem);
      const headBody = decodeBody(headItem);
      const state = decodeHead(JSON.parse(headBody) as HeadCode);
      const buckets = [...labelBucketsTouchedBy(events)];
      const handle: Handle = {
        // An open head (a split whose batch was interrupted) is rewritten whatever its bytes.
        loaded: new Map([[HEAD, { rev: Number(headItem.rev!.N), bytes: headItem.open?.BOOL === true ? "" : headBody }]]),
        parts: new Set(),
        groups: new Set(),
        buckets: new Set(buckets),
        taskParts: new Map(),
        // An older head holding its job-level executions has job part 0 loaded already (core/storage/codec.ts).
        jobParts: new Set(state.loadedJobParts),
        storedJobPartCount: state.jobPartCount,
        storedPartCount: state.partCount,
        storedTaskPartCounts: new Map(),
        isCreation: false,
        headStamp: stampOf(headItem),
      };
      if (events.length === 0) return { meta, state, handle };
      const touched = partsTouchedBy(state, events);
      handle.parts = touched.parts;
      handle.groups = touched.groups;
      const jobParts = [...jobPartsTouchedBy(state, events)].filter((part) => !handle.jobParts.has(part));
      for (const part of jobParts) handle.jobParts.add(part);
      const items = await readMore(meta, handle, [...buckets.map(bucketKey), ...[...touched.groups].map(groupKey), ...[...touched.parts].map(partKey), ...jobParts.map(jobPartKey)]);
      for (const part of jobParts) loadJobPart(state, part, bodyOf(handle, jobPartKey(part), items));
      for (const bucket of buckets) {
        loadBucket(state, bucket, bodyOf(handle, bucketKey(bucket), items));
        handle.storedTaskPartCounts.set(bucket, state.labelBuckets.get(bucket)!.taskPartCount);
      }
      // Children replace their parents' copies: groups first, then the parts (a part with no item is empty).
      for (const group of touched.groups) loadGroup(state, group, bodyOf(handle, groupKey(group), items));
      for (const part of touched.parts) loadPart(state, part, bodyOf(handle, partKey(part), items));
      handle.taskParts = taskPartsTouchedBy(state, events);
      // Reports naming only their input follow the input's link to its original's part (and group).
      const linked = [...partsLinkedBy(state, events)].filter((part) => !touched.parts.has(part));
      const linkedGroups = [...new Set(linked.map(groupOf))].filter((group) => group > 0 && !touched.groups.has(group));
      const taskKeys = [...handle.taskParts].flatMap(([bucket, parts]) => [...parts].map((part) => taskPartKey(bucket, part)));
      if (taskKeys.length + linked.length > 0) {
        for (const group of linkedGroups) handle.groups.add(group);
        for (const part of linked) handle.parts.add(part);
        const more = await readMore(meta, handle, [...taskKeys, ...linkedGroups.map(groupKey), ...linked.map(partKey)]);
        for (const [bucket, parts] of handle.taskParts) for (const part of parts) loadTaskPart(state, bucket, part, bodyOf(handle, taskPartKey(bucket, part), more));
        for (const group of linkedGroups) loadGroup(state, group, bodyOf(handle, groupKey(group), more));
        for (const part of linked) loadPart(state, part, bodyOf(handle, partKey(part), more));
      }
      return { meta, state, handle };
    },

    async save(job, nowMs) {
      await writeItems(job, nowMs);
    },

    loadJob: createWholeJobRead({ client, tableName, readHead, batchGet, countRead, now, rollForward }),
  };
  return store;
}
