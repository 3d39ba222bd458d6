/**
 * Splitting parts whose item would pass the split size (linear hashing: a collection grows by one
 * part at a time, which takes over part of one older part). The records are the codec's; which
 * part a record maps to, and what a split moves, are storage's (core/storage/): this module only
 * decides when an item is too heavy and reads the parts a split needs.
 */
import type { LoadedJob } from "../../../core/ports.ts";
import {
  allExecutions,
  bucketOfTask,
  encodeJobPart,
  encodeParts,
  encodeTaskParts,
  FORCE_SPLIT_ITEM_BYTES,
  groupOf,
  growJobParts,
  growOriginals,
  growTasks,
  jobPartOf,
  loadGroup,
  loadJobPart,
  loadTaskPart,
  MAX_JOB_PARTS,
  MAX_PARTS,
  MAX_SPLITS_PER_SAVE,
  partOf,
  splitSource,
  type Execution,
  type OriginalState,
  type TaskTally,
} from "../../../core/storage/index.ts";
import { storedBytes } from "./items.ts";
import { groupKey, jobPartKey, partKey, taskPartKey } from "./keys.ts";
import { bodyOf, loadPartLate, readMore, type Handle } from "./loads.ts";
import type { StoreIo } from "./store-io.ts";

/** One collection as the split loop sees it. */
interface Collection<R> {
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
}

/**
 * Splits parts whose item would pass the split size: grows each collection by one part at a time
 * (loading the part that splits; the new part is not read: whatever an item of it holds is left
 * from a split that never got its count written, see store-io.ts `putConditional`), up to
 * MAX_SPLITS_PER_SAVE per save, or past that while an item would pass FORCE_SPLIT_ITEM_BYTES. A
 * part of a single record cannot be split (and records are bounded: docs/storage.md, Limits).
 */
export async function splitHeavyParts(io: StoreIo, job: LoadedJob): Promise<void> {
  const handle = job.handle as Handle;
  const budget = { splits: 0 };
  await splitCollection(io, handle, budget, originalsOf(io, job));
  await splitCollection(io, handle, budget, jobExecutionsOf(io, job));
  for (const bucket of handle.taskParts.keys()) await splitCollection(io, handle, budget, tasksOf(io, job, bucket));
  io.metrics.splits += budget.splits;
}

function originalsOf(io: StoreIo, job: LoadedJob): Collection<OriginalState> {
  const { state, meta } = job;
  const handle = job.handle as Handle;
  return {
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
      await loadPartLate(io, job, source);
      const group = groupOf(target);
      if (group > 0 && !handle.groups.has(group)) {
        const items = await readMore(io, meta, handle, [groupKey(group)]);
        // A group beyond the stored count holds only leftovers of an interrupted split.
        loadGroup(state, group, group <= groupOf(handle.storedPartCount - 1) ? bodyOf(handle, groupKey(group), items) : null);
        handle.groups.add(group);
      }
    },
    grow: (candidates) => void growOriginals(state, candidates),
  };
}

function jobExecutionsOf(io: StoreIo, job: LoadedJob): Collection<Execution> {
  const { state, meta } = job;
  const handle = job.handle as Handle;
  return {
    parts: handle.jobParts,
    sortKey: jobPartKey,
    all: () => allExecutions(state.jobExecutions),
    partOf: (execution) => jobPartOf(execution, state.jobPartCount),
    encode: (_part, executions) => ({ body: JSON.stringify(encodeJobPart(executions)), records: executions.length }),
    count: () => state.jobPartCount,
    maxParts: MAX_JOB_PARTS,
    prepare: async (source) => {
      if (handle.jobParts.has(source)) return;
      const items = await readMore(io, meta, handle, [jobPartKey(source)]);
      loadJobPart(state, source, bodyOf(handle, jobPartKey(source), items));
      handle.jobParts.add(source);
    },
    grow: () => void growJobParts(state, splitSource(state.jobPartCount)),
  };
}

function tasksOf(io: StoreIo, job: LoadedJob, bucket: number): Collection<[string, TaskTally]> {
  const { state, meta } = job;
  const handle = job.handle as Handle;
  const parts = handle.taskParts.get(bucket)!;
  const labelBucket = state.labelBuckets.get(bucket)!;
  return {
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
        const items = await readMore(io, meta, handle, [taskPartKey(bucket, source)]);
        loadTaskPart(state, bucket, source, bodyOf(handle, taskPartKey(bucket, source), items));
      }
    },
    grow: (candidates) => void growTasks(state, bucket, candidates),
  };
}

/** One collection's split loop; records are indexed by part once, so a split costs the size of its part, not of the job. */
async function splitCollection<R>(io: StoreIo, handle: Handle, budget: { splits: number }, c: Collection<R>): Promise<void> {
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
    if (records < 2 || body.length <= io.splitItemBytes / 3 || handle.loaded.get(c.sortKey(part))?.bytes === body) return 0;
    return Buffer.byteLength(body) <= io.splitItemBytes ? 0 : storedBytes(body);
  };
  const sizes = new Map<number, number>();
  for (const part of c.parts) sizes.set(part, sizeOf(part));
  for (;;) {
    let heaviest = 0;
    for (const bytes of sizes.values()) if (bytes > heaviest) heaviest = bytes;
    if (heaviest <= io.splitItemBytes || (budget.splits >= MAX_SPLITS_PER_SAVE && heaviest <= FORCE_SPLIT_ITEM_BYTES) || c.count() >= (c.maxParts ?? MAX_PARTS)) return;
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
