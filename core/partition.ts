/**
 * How a job's state is split into storage items: originals into `partCount` parts and indicator
 * tasks into `taskPartCount` parts, by a stable hash of their ids. The counts are fixed when a job
 * is created (from the originals it expects), so an id always lands in the same part.
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

export function partOf(id: string, partCount: number): number {
  return partCount === 1 ? 0 : hashId(id) % partCount;
}

/**
 * About 64 finished originals deflate to 1–2 KB (bench/pipeline.ts): a write of such a part
 * costs 2 WCU, and every write rounds up to whole KB, so much smaller parts waste most of their
 * last KB and much larger ones rewrite more than a batch touched.
 */
export const ORIGINALS_PER_PART = 64;
export const MAX_PARTS = 4096;
/** Parts for a job whose size is not announced: small enough for small jobs, spread enough for big ones. */
export const DEFAULT_PARTS = 16;

/** Enough parts that each holds about ORIGINALS_PER_PART originals (at most MAX_PARTS). */
export function partCountFor(expectedOriginals: number | null): number {
  if (expectedOriginals === null) return DEFAULT_PARTS;
  return Math.min(MAX_PARTS, Math.max(1, Math.ceil(expectedOriginals / ORIGINALS_PER_PART)));
}

export const TASK_PARTS = 4;

/** The partitioning of a new job, from what its declaration announces. */
export function partitioningFor(declared: { expect_originals?: number | "unknown" | undefined; originals?: readonly unknown[] | undefined } | null): {
  partCount: number;
  taskPartCount: number;
} {
  const expected = typeof declared?.expect_originals === "number" ? declared.expect_originals : declared?.originals !== undefined ? declared.originals.length : null;
  return { partCount: partCountFor(expected), taskPartCount: TASK_PARTS };
}
