/**
 * A whole job read at one stored version (docs/storage.md, "Readers see one version"), for a snapshot: GET,
 * the ticker, SSE, a subscribe. The head first, then every leaf it commits; a leaf of a write in
 * progress means reading again, and after READ_ATTEMPTS tries the answer is "busy". A write found
 * abandoned (versions.ts) is rolled forward by the store, once, and the job read again.
 * Reads only, but for that: the reducer's partial loads and every write stay in store.ts.
 */
import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { completeLoad, decodeHead, loadBucket, loadJobPart, loadPart, loadTaskPart, type HeadCode, type JobState } from "../../../core/storage/index.ts";
import type { JobMeta, JobRef, JobStore } from "../../../core/ports.ts";
import { decodeBody, metaOf, sleep, type Item } from "./items.ts";
import { BUCKETS_TO_PARTS, isBucketKey, JOB_PARTS_TO_PARTS, jobKey, jobPartKey, leafOf, partKey, TASK_PART_PREFIX } from "./keys.ts";
import { queryPartition } from "./query.ts";
import { isAbandoned, READ_ATTEMPTS, uncommittedOf } from "./versions.ts";

/** A job of at most this many parts (and no labels) is read part by part in batches rather than by a query. */
const PARTS_READ_BY_KEY = 100;

export function createWholeJobRead(deps: {
  client: DynamoDBClient;
  tableName: string;
  /** The head, or null when there is none or it has expired. */
  readHead: (ref: JobRef) => Promise<Item | null>;
  /** Items by sort key through the store's coalescing reader (jobs loaded side by side share its requests), counted. */
  batchGet: (meta: JobMeta, sortKeys: string[]) => Promise<Map<string, Item>>;
  countRead: (item: Item) => void;
  now: () => number;
  /** Commits what an abandoned write of the job stored, as a new version (or learns that another writer did). */
  rollForward: (ref: JobRef) => Promise<void>;
}): JobStore["loadJob"] {
  const { client, tableName } = deps;

  /**
   * The leaves of a job whose head was read: its parts, label buckets, task parts and job parts
   * (J#, read when the head summarizes any: a job part it does not summarize is empty, or of a
   * write it never committed). A job whose
   * head names no label bucket and at most PARTS_READ_BY_KEY parts is read by key, with the other
   * jobs loaded beside it (a tick of 100 such jobs: one BatchGetItem, not 100 queries; a label
   * bucket the head does not name is of a write it never committed). Any other job is read by
   * range: only the state's leaves (groups, G#, hold copies that are not needed when every part is
   * loaded); the partition also holds rejections (REJ#), subscribers (SUB#) and webhook records
   * (WH…): J# < L# < P# < REJ# < SUB# < T#. Task parts (T#) belong to label buckets: a job with none
   * (the head names none, and no L# item was found) has none to read.
   */
  async function readLeaves(meta: JobMeta, state: JobState): Promise<{ bucketsAndParts: Item[]; taskParts: Item[] }> {
    const hasJobParts = state.jobPartCopies.size > 0;
    if (state.labelBucketTotals.size === 0 && state.partCount + (hasJobParts ? state.jobPartCount : 0) <= PARTS_READ_BY_KEY) {
      const keys = [...Array.from({ length: state.partCount }, (_, part) => partKey(part)), ...(hasJobParts ? Array.from({ length: state.jobPartCount }, (_, part) => jobPartKey(part)) : [])];
      const parts = await deps.batchGet(meta, keys);
      return { bucketsAndParts: [...parts.values()], taskParts: [] };
    }
    const readTaskParts = () => queryPartition(client, tableName, jobKey(meta), { prefix: TASK_PART_PREFIX, consistent: true });
    const [bucketsAndParts, taskPartsOfNamedBuckets] = await Promise.all([
      queryPartition(client, tableName, jobKey(meta), { between: hasJobParts ? JOB_PARTS_TO_PARTS : BUCKETS_TO_PARTS, consistent: true }),
      state.labelBucketTotals.size > 0 ? readTaskParts() : undefined,
    ]);
    const taskParts = taskPartsOfNamedBuckets ?? (bucketsAndParts.some((item) => isBucketKey(item.sk!.S!)) ? await readTaskParts() : []);
    // Counted as the reads by key are, so that either way a load costs the same units.
    for (const item of [...bucketsAndParts, ...taskParts]) deps.countRead(item);
    return { bucketsAndParts, taskParts };
  }

  return async (ref) => {
    let isRolledForward = false;
    for (let attempt = 0; attempt < READ_ATTEMPTS; attempt++) {
      if (attempt > 0) await sleep(20 * 2 ** attempt);
      const headItem = await deps.readHead(ref);
      if (headItem === null) return null;
      const meta = metaOf(ref, headItem);
      const state = decodeHead(JSON.parse(decodeBody(headItem)) as HeadCode);
      const { bucketsAndParts, taskParts } = await readLeaves(meta, state);
      const uncommitted = uncommittedOf(headItem, [...bucketsAndParts, ...taskParts]);
      if (uncommitted.length > 0) {
        if (!isRolledForward && isAbandoned(uncommitted, deps.now())) {
          isRolledForward = true;
          await deps.rollForward(ref);
          attempt--; // read again at once: the roll forward is no write in progress
        }
        continue;
      }
      // Every leaf is loaded, so every figure is rebuilt from the leaves and no copy is needed.
      state.partTotals.clear();
      state.labelBucketTotals.clear();
      const leaves = bucketsAndParts.map((item) => ({ item, leaf: leafOf(item.sk!.S!)! }));
      for (const { item, leaf } of leaves) {
        if (leaf.kind !== "bucket") continue;
        loadBucket(state, leaf.numbers[0]!, JSON.parse(decodeBody(item)));
        state.labelBuckets.get(leaf.numbers[0]!)!.taskSums.clear();
      }
      for (const { item, leaf } of leaves) {
        if (leaf.kind === "part" && leaf.numbers[0]! < state.partCount) loadPart(state, leaf.numbers[0]!, JSON.parse(decodeBody(item)));
      }
      for (const item of taskParts) {
        const [bucket, part] = leafOf(item.sk!.S!)!.numbers as [number, number];
        const labelBucket = state.labelBuckets.get(bucket);
        if (labelBucket !== undefined && part < labelBucket.taskPartCount) loadTaskPart(state, bucket, part, JSON.parse(decodeBody(item)));
      }
      const jobParts = new Map(leaves.filter(({ leaf }) => leaf.kind === "job part").map(({ item, leaf }) => [leaf.numbers[0]!, item]));
      for (let part = 0; part < state.jobPartCount; part++) {
        if (state.loadedJobParts.has(part)) continue;
        const item = jobParts.get(part);
        loadJobPart(state, part, item === undefined ? null : JSON.parse(decodeBody(item)));
      }
      completeLoad(state);
      return { meta, state };
    }
    return "busy";
  };
}
