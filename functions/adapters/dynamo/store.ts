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
 * port. Every key is in keys.ts and item bodies in items.ts; the store's modules, each one
 * concern: store-io.ts (single items, conditional puts, costs), loads.ts (a job loaded for a
 * write), splits.ts, writes.ts (the order of a save), job-read.ts (a whole job at one version, for
 * snapshots). None of them decides a figure of the estimate: the state's items are the codec's
 * (core/storage/).
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
import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { StoreConflict } from "../../../core/errors.ts";
import type { ChangeFeed, JobIndex, JobMeta, JobRef, JobStore, RejectionLog } from "../../../core/ports.ts";
import { SPLIT_ITEM_BYTES } from "../../../core/storage/index.ts";
import { createDynamoChangeFeed } from "./change-feed.ts";
import { createDynamoJobIndex } from "./job-index.ts";
import { createWholeJobRead } from "./job-read.ts";
import { jobKey } from "./keys.ts";
import { creationHandle, loadForBatch, loadWhole } from "./loads.ts";
import { deleteItems, queryPartition } from "./query.ts";
import { createDynamoRejectionLog } from "./rejections.ts";
import { createStoreIo, type StoreMetrics } from "./store-io.ts";
import { writeItems } from "./writes.ts";

export type { StoreMetrics } from "./store-io.ts";

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
  /** The clock items are stamped and judged by (expiry, writes in progress). */
  now: () => number;
  /** Tests only: a small value makes small jobs split, to exercise splits and their crashes. */
  splitItemBytes?: number;
}): DynamoStore {
  const { client, tableName, now } = options;
  const io = createStoreIo({ client, tableName, now, splitItemBytes: options.splitItemBytes ?? SPLIT_ITEM_BYTES });
  const changeFeed = createDynamoChangeFeed({ client, tableName, countWrite: io.countWrite, metrics: io.metrics });
  const jobIndex = createDynamoJobIndex({ client, tableName, countWrite: io.countWrite, now });
  const rejections = createDynamoRejectionLog({ client, tableName, countWrite: io.countWrite, metrics: io.metrics });
  const save = (job: Parameters<JobStore["save"]>[0], nowMs: number) => writeItems(io, job, nowMs, (meta) => jobIndex.add(meta));

  /**
   * Rolls an abandoned write forward (docs/storage.md, "A writer that died"): loads the whole job,
   * every leaf as it is stored, and saves it with no events, as a redelivered batch would. The
   * leaves the dead write stored (ahead of the head) are written again under this write's stamp,
   * the head rebuilt from the leaves (its summary copies, a split's part count) commits them as a
   * new version, and the version is announced so that the ticker pushes it. Conditional like every
   * write: if another writer commits first, this one loses and the reader reads theirs.
   */
  async function rollForward(ref: JobRef): Promise<void> {
    try {
      const job = await loadWhole(io, ref);
      if (job === null) return;
      await save(job, now());
      await changeFeed.markChanged([{ meta: job.meta, version: job.state.version }], now());
    } catch (error) {
      if (!(error instanceof StoreConflict)) throw error;
    }
  }

  const store: DynamoStore = {
    metrics: io.metrics,
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
      // A taken id is refused before anything is written (docs/storage.md: a refused request leaves no trace).
      if ((await io.readHead(meta)) !== null) return false;
      try {
        await save({ meta, state, handle: creationHandle(state) }, meta.createdAtMs);
        return true;
      } catch (error) {
        if (!(error instanceof StoreConflict)) throw error;
        // Another create took the id between our read and our head: take back what this one wrote
        // (its index entry, and the items under its incarnation, which nothing reads).
        await store.forget(meta);
        return false;
      }
    },

    loadForBatch: (ref, events) => loadForBatch(io, ref, events),
    save,
    loadJob: createWholeJobRead({ client, tableName, readHead: io.readHead, batchGet: io.batchGet, countRead: io.countRead, now, rollForward }),
  };
  return store;
}
