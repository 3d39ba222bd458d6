/**
 * How a job's state is split into storage items so that no item grows with the job.
 *
 * Records (originals, indicator tasks) live in parts chosen by a stable hash of their ids, by
 * linear hashing: a collection of `n` parts grows one part at a time, and growing from n to n+1
 * splits exactly one part (`splitSource(n)`) into itself and the new part n, never moving any
 * other record. A record that moved out of a part never maps back to it, so a stale copy left in
 * the old part by a crash is recognised (it no longer maps there) and ignored. The store grows a
 * collection when a part's stored item passes SPLIT_ITEM_BYTES, so parts are bounded by bytes,
 * however many originals a job has and however large they are (a failure keeps up to 4,000
 * characters of error).
 *
 * Summaries form a two-level tree: the head keeps a copy of the summary of each of the first
 * GROUP_PARTS parts and one per further group of GROUP_PARTS parts; a group item keeps a copy of
 * each of its parts' summaries. Pure: no I/O, no clock.
 */

/** FNV-1a, 32 bits: stable across processes and platforms, cheap, and good enough to spread ids. */
export function hashId(id: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < id.length; i++) {
    hash ^= id.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

function levelOf(partCount: number): number {
  return 31 - Math.clz32(partCount);
}

/** The part of an id among `partCount` parts (linear hashing: any count, not only powers of two). */
export function partOf(id: string, partCount: number): number {
  if (partCount === 1) return 0;
  const low = 2 ** levelOf(partCount);
  const hash = hashId(id);
  const part = hash % (low * 2);
  return part < partCount ? part : hash % low;
}

/** The part whose records are shared with the new part `partCount` when a collection grows by one. */
export function splitSource(partCount: number): number {
  return partCount - 2 ** levelOf(partCount);
}

/**
 * A part whose stored item (compressed) passes this many bytes is split. DynamoDB bills a write per
 * KB of the whole item, so a part of a few KB is rewritten cheaply; about 128 finished originals
 * deflate to 2 KB. The hard limit of an item is 400 KB; see MAX_SPLITS_PER_SAVE.
 */
export const SPLIT_ITEM_BYTES = 4 * 1024;
/**
 * Splits one save may make, so that one batch never rewrites a whole job. A part only splits when
 * the linear-hashing pointer reaches it, so a heavy part may wait several batches; above
 * FORCE_SPLIT_ITEM_BYTES the store keeps splitting past this bound, whatever it costs.
 */
export const MAX_SPLITS_PER_SAVE = 64;
export const FORCE_SPLIT_ITEM_BYTES = 64 * 1024;

/** Parts whose summary copies the head keeps itself; beyond them, one group item per GROUP_PARTS parts. */
export const GROUP_PARTS = 256;
/** Groups of a collection: the head then keeps at most GROUP_PARTS + MAX_PARTS / GROUP_PARTS copies. */
export const MAX_PARTS = GROUP_PARTS * GROUP_PARTS;

/** The group item that keeps a part's summary copy; 0 means the head keeps it. */
export function groupOf(part: number): number {
  return Math.floor(part / GROUP_PARTS);
}

/**
 * The starting size of a part of an announced job: 128 finished originals deflate to about 2 KB.
 * When a batch touches every part of a big job (hashing spreads any batch over all of them), its
 * cost is the job's compressed size whatever the part size; fewer, larger parts waste less of
 * each write's last KB and make fewer requests (bench/pipeline.ts).
 */
export const ORIGINALS_PER_PART = 128;

/** Enough parts that each holds about ORIGINALS_PER_PART originals; one for a job that does not say. */
export function partCountFor(expectedOriginals: number | null): number {
  if (expectedOriginals === null) return 1;
  return Math.min(MAX_PARTS, Math.max(1, Math.ceil(expectedOriginals / ORIGINALS_PER_PART)));
}

/**
 * Label buckets: a job's indicator labels (at most 1,000 of up to 100 characters, so up to ~400 KB
 * of names) are spread over this many items by a hash of the label; each bucket owns the tasks of
 * its labels as a collection of its own.
 */
export const LABEL_BUCKETS = 32;

export function labelBucketOf(labelKey: string): number {
  return hashId(labelKey) % LABEL_BUCKETS;
}

/** The partitioning of a new job, from what its declaration announces. */
export function partitioningFor(declared: { expect_originals?: number | "unknown" | undefined; originals?: readonly unknown[] | undefined } | null): {
  partCount: number;
} {
  const expected = typeof declared?.expect_originals === "number" ? declared.expect_originals : declared?.originals !== undefined ? declared.originals.length : null;
  return { partCount: partCountFor(expected) };
}
