/**
 * Loading a job for a write: the head and the leaves a batch's events touch (loadForBatch), every
 * leaf (loadWhole, to roll an abandoned write forward), or one more part late (a split's source).
 * The handle remembers what was loaded and at which revision, so that a save writes back, each
 * item conditionally, only what changed.
 */
import type { Event } from "../../../core/contract/events.ts";
import type { JobMeta, JobRef, LoadedJob } from "../../../core/ports.ts";
import {
  completeLoad,
  decodeHead,
  groupOf,
  jobPartsTouchedBy,
  labelBucketsTouchedBy,
  loadBucket,
  loadGroup,
  loadJobPart,
  loadPart,
  loadTaskPart,
  partsLinkedBy,
  partsTouchedBy,
  taskPartsTouchedBy,
  type HeadCode,
  type JobState,
} from "../../../core/storage/index.ts";
import { decodeBody, metaOf, type Item } from "./items.ts";
import { bucketKey, groupKey, HEAD, jobKey, jobPartKey, leafOf, LEAVES, partKey, taskPartKey } from "./keys.ts";
import { queryPartition } from "./query.ts";
import type { StoreIo } from "./store-io.ts";
import { isStampCommitted, stampOf, type Stamp } from "./versions.ts";

export interface Handle {
  /** Revision and stored bytes of every item loaded, by sort key; absent = did not exist. */
  loaded: Map<string, { rev: number; bytes: string; isAhead?: boolean }>;
  /** The head's stamp when loaded: items stamped past it are of a write that never committed. */
  headStamp: Stamp;
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

/** The handle of a job about to be created: everything in its state is written, the head conditional on the id being free. */
export function creationHandle(state: JobState): Handle {
  const parts = new Set([...state.partTotals.keys()].filter((key) => key >= 0));
  return {
    loaded: new Map(),
    parts,
    groups: new Set([...parts].map(groupOf).filter((group) => group > 0)),
    buckets: new Set(state.labelBuckets.keys()),
    taskParts: new Map([...state.labelBuckets].map(([bucket, { taskSums }]) => [bucket, new Set(taskSums.keys())])),
    jobParts: new Set(state.loadedJobParts),
    storedJobPartCount: state.jobPartCount,
    storedPartCount: state.partCount,
    storedTaskPartCounts: new Map([...state.labelBuckets].map(([bucket, { taskPartCount }]) => [bucket, taskPartCount])),
    isCreation: true,
    headStamp: { version: -1, writeId: undefined },
  };
}

/** The head as loaded: an open head (a split whose batch was interrupted) is rewritten whatever its bytes. */
const headEntry = (headItem: Item, headBody: string) => ({ rev: Number(headItem.rev!.N), bytes: headItem.open?.BOOL === true ? "" : headBody });

/** Reads items the handle has not seen yet; records their revisions (absent ones stay absent). */
export async function readMore(io: StoreIo, meta: JobMeta, handle: Handle, sortKeys: string[]): Promise<Map<string, Item>> {
  const items = await io.batchGet(meta, sortKeys.filter((sk) => !handle.loaded.has(sk)));
  // An item of a write that never committed (it crashed before its head) is written again under
  // this write's stamp even where its bytes are already right: so the redelivered batch commits it.
  for (const [sk, item] of items) handle.loaded.set(sk, { rev: Number(item.rev!.N), bytes: decodeBody(item), isAhead: !isStampCommitted(item, handle.headStamp) });
  return items;
}

export const bodyOf = (handle: Handle, sk: string, items: Map<string, Item>) => (items.has(sk) ? JSON.parse(handle.loaded.get(sk)!.bytes) : null);

/** The head and the leaves these events touch (all parts when a new plan must re-home work); null for an unknown job. No events: the head alone. */
export async function loadForBatch(io: StoreIo, ref: JobRef, events: readonly Event[]): Promise<LoadedJob | null> {
  const headItem = await io.readHead(ref);
  if (headItem === null) return null;
  const meta = metaOf(ref, headItem);
  const headBody = decodeBody(headItem);
  const state = decodeHead(JSON.parse(headBody) as HeadCode);
  const buckets = [...labelBucketsTouchedBy(events)];
  const handle: Handle = {
    loaded: new Map([[HEAD, headEntry(headItem, headBody)]]),
    parts: new Set(),
    groups: new Set(),
    buckets: new Set(buckets),
    taskParts: new Map(),
    // An older head holding its job-level executions has job part 0 loaded already (core/storage/head.ts).
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
  const items = await readMore(io, meta, handle, [...buckets.map(bucketKey), ...[...touched.groups].map(groupKey), ...[...touched.parts].map(partKey), ...jobParts.map(jobPartKey)]);
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
    const more = await readMore(io, meta, handle, [...taskKeys, ...linkedGroups.map(groupKey), ...linked.map(partKey)]);
    for (const [bucket, parts] of handle.taskParts) for (const part of parts) loadTaskPart(state, bucket, part, bodyOf(handle, taskPartKey(bucket, part), more));
    for (const group of linkedGroups) loadGroup(state, group, bodyOf(handle, groupKey(group), more));
    for (const part of linked) loadPart(state, part, bodyOf(handle, partKey(part), more));
  }
  return { meta, state, handle };
}

/** The head and every leaf of a job (a range read of its partition), loaded for a save: how an abandoned write is rolled forward. */
export async function loadWhole(io: StoreIo, ref: JobRef): Promise<LoadedJob | null> {
  const headItem = await io.readHead(ref);
  if (headItem === null) return null;
  const meta = metaOf(ref, headItem);
  const headBody = decodeBody(headItem);
  const state = decodeHead(JSON.parse(headBody) as HeadCode);
  const headStamp = stampOf(headItem);
  const leaves = new Map<string, Item>();
  for (const item of await queryPartition(io.client, io.tableName, jobKey(meta), { between: LEAVES, consistent: true })) {
    const sk = item.sk!.S!;
    if (leafOf(sk) !== null) {
      leaves.set(sk, item);
      io.countRead(item);
    }
  }
  const loaded: Handle["loaded"] = new Map([[HEAD, headEntry(headItem, headBody)]]);
  for (const [sk, item] of leaves) loaded.set(sk, { rev: Number(item.rev!.N), bytes: decodeBody(item), isAhead: !isStampCommitted(item, headStamp) });
  const body = (sk: string) => (leaves.has(sk) ? JSON.parse(loaded.get(sk)!.bytes) : null);
  // Every label bucket: those the head names, and any the dead write made.
  const buckets = new Set([...state.labelBucketTotals.keys(), ...[...leaves.keys()].flatMap((sk) => (leafOf(sk)?.kind === "bucket" ? [leafOf(sk)!.numbers[0]!] : []))]);
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
  const storedTaskPartCounts = new Map([...buckets].map((bucket) => [bucket, state.labelBuckets.get(bucket)!.taskPartCount]));
  const handle: Handle = { loaded, parts, groups, buckets, taskParts, jobParts, storedJobPartCount: state.jobPartCount, storedPartCount: state.partCount, storedTaskPartCounts, isCreation: false, headStamp };
  return { meta, state, handle };
}

/** Loads a part of originals (with its group) after the batch was applied, to split it. */
export async function loadPartLate(io: StoreIo, job: LoadedJob, part: number): Promise<void> {
  const handle = job.handle as Handle;
  if (handle.parts.has(part)) return;
  const group = groupOf(part);
  const keys = [partKey(part), ...(group > 0 && !handle.groups.has(group) ? [groupKey(group)] : [])];
  const items = await readMore(io, job.meta, handle, keys);
  if (group > 0 && !handle.groups.has(group)) {
    loadGroup(job.state, group, bodyOf(handle, groupKey(group), items));
    handle.groups.add(group);
  }
  loadPart(job.state, part, bodyOf(handle, partKey(part), items));
  handle.parts.add(part);
  completeLoad(job.state);
}
