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

export const ORIGINALS_PER_PART = 32;
export const MAX_PARTS = 4096;
/** Parts for a job whose size is not announced: small enough for small jobs, spread enough for big ones. */
export const DEFAULT_PARTS = 16;

/** Enough parts that each holds about ORIGINALS_PER_PART originals (a power of two, at most MAX_PARTS). */
export function partCountFor(expectedOriginals: number | null): number {
  if (expectedOriginals === null) return DEFAULT_PARTS;
  let count = 1;
  while (count < MAX_PARTS && count * ORIGINALS_PER_PART < expectedOriginals) count *= 2;
  return count;
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
