/**
 * Writing a job back: every loaded item whose bytes changed, each conditional on the revision
 * loaded and stamped with the version it belongs to and this write's id, in an order that keeps
 * every crash healable and every read of one version:
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
import { randomUUID } from "node:crypto";
import { StoreConflict } from "../../../core/errors.ts";
import type { JobMeta, LoadedJob } from "../../../core/ports.ts";
import { encodeBucket, encodeEmptyBucket, encodeGroups, encodeHead, encodeJobParts, encodeParts, encodeTaskParts, groupOf, type JobState } from "../../../core/storage/index.ts";
import { runBounded, type Item } from "./items.ts";
import { bucketKey, groupKey, HEAD, jobPartKey, partKey, taskPartKey } from "./keys.ts";
import type { Handle } from "./loads.ts";
import { splitHeavyParts } from "./splits.ts";
import type { StoreIo } from "./store-io.ts";

/**
 * How long a job is kept after its last activity (a write of its head): 30 days while it runs, 7
 * once it ended. Only the head carries an expiry: parts have none, so a job stays whole however
 * long it runs without any write touching the parts it did not change (the WCU target), and once
 * the head expires the reaper (functions/reaper.ts) removes the rest.
 */
export const ACTIVE_RETENTION_SECONDS = 30 * 24 * 3600;
export const FINISHED_RETENTION_SECONDS = 7 * 24 * 3600;
const WRITE_CONCURRENCY = 16;

/** A leaf to write: sort key and body; a new part (of a split) also names its owner and the owner's revision once the split commits. */
type Leaf = [sk: string, body: string];
type NewLeaf = [sk: string, body: string, born: number, owner: string];

/** The leaves a save writes, by when they are written. */
function leavesOf(state: JobState, handle: Handle): { newParts: NewLeaf[]; groups: Leaf[]; buckets: Leaf[]; older: Leaf[] } {
  const newParts: NewLeaf[] = [];
  const groups: Leaf[] = [];
  const buckets: Leaf[] = [];
  const older: Leaf[] = [];
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
  const changed = (items: Leaf[]) => items.filter(([sk, body]) => handle.loaded.get(sk)?.bytes !== body || handle.loaded.get(sk)?.isAhead === true);
  return { newParts, groups: changed(groups), buckets: changed(buckets), older: changed(older) };
}

const metaAttributes = (meta: JobMeta): Item => ({ inc: { S: meta.incarnation }, created_at: { N: String(meta.createdAtMs) } });

/** Splits what grew too heavy, then writes (see the module's header); `onCreate` runs, for a new job, before its head is written. */
export async function writeItems(io: StoreIo, job: LoadedJob, nowMs: number, onCreate: (meta: JobMeta) => Promise<void>): Promise<void> {
  await splitHeavyParts(io, job);
  const handle = job.handle as Handle;
  const { state, meta } = job;
  const retentionSeconds = state.terminal === null ? ACTIVE_RETENTION_SECONDS : FINISHED_RETENTION_SECONDS;
  const writeId = randomUUID().slice(0, 8);
  const { newParts, ...toWrite } = leavesOf(state, handle);
  // Nothing is written if any item would be refused for its size: the caller refuses the events that grow it.
  for (const [sk, body] of [...newParts, ...toWrite.groups, ...toWrite.buckets, ...toWrite.older]) io.checkFits(sk, body);
  // Items are stamped with the head's version and this write's id: any item written means the head is too, or readers would wait for it.
  const isAnyItemWritten = newParts.length + toWrite.groups.length + toWrite.buckets.length + toWrite.older.length > 0;
  // Every write that writes items moves the version (even one that only commits another's
  // leftovers), so two writes share a version only when both loaded the same head, and then
  // at most one of them commits.
  if (isAnyItemWritten && state.version <= handle.headStamp.version) state.version = handle.headStamp.version + 1;
  const stamp: Item = { ver: { N: String(state.version) }, w: { S: writeId }, at: { N: String(io.now()) } };
  const put = ([sk, body]: Leaf) => () => io.putConditional(meta, sk, body, handle.loaded.get(sk), stamp, nowMs);
  const headBody = JSON.stringify(encodeHead(state));
  io.checkFits(HEAD, headBody);
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
    await io.putConditional(meta, HEAD, headBody, previous, attributes, nowMs);
    handle.loaded.set(HEAD, { rev: (previous?.rev ?? 0) + 1, bytes: isOpen ? "" : headBody });
  };
  const fenced = new Set<string>();
  const putNew = ([sk, body, born, owner]: NewLeaf) => async () => {
    try {
      await io.putConditional(meta, sk, body, { born }, stamp, nowMs);
    } catch (error) {
      if (error instanceof StoreConflict && !fenced.has(owner)) {
        fenced.add(owner);
        await io.fence(meta, owner, handle.loaded.get(owner), JSON.stringify(encodeEmptyBucket()), nowMs);
      }
      throw error;
    }
  };
  await runBounded(newParts.map(putNew), WRITE_CONCURRENCY);
  await runBounded(toWrite.groups.map(put), WRITE_CONCURRENCY);
  if (!handle.isCreation && (state.partCount > handle.storedPartCount || state.jobPartCount > handle.storedJobPartCount)) await writeHead(true);
  await runBounded(toWrite.buckets.map(put), WRITE_CONCURRENCY);
  await runBounded(toWrite.older.map(put), WRITE_CONCURRENCY);
  if (handle.isCreation) await onCreate(meta);
  if (isAnyItemWritten || handle.loaded.get(HEAD)?.bytes !== headBody) await writeHead(false);
}
