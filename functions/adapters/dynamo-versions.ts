/**
 * What makes a read of a job one version (docs/storage.md, "Readers see one version"): every item a write
 * stores carries that write's version and id (`ver`, `w`, and when it was written, `at`), and the
 * head, written last, the version and write id it commits. Pure: the store decides what to read
 * and how often to try again; this module only judges what was read.
 */
import type { Item } from "./dynamo-items.ts";

/**
 * A read waits for a write in progress; a write abandoned this long ago (its process died and its
 * batch was not delivered again: it went to the DLQ) is taken as part of the job, so that no job
 * stays unreadable for good.
 */
export const ABANDONED_WRITE_MS = 10 * 60_000;

/** Reads of a whole job that meet a write in progress try again this many times (20, 40, 80, 160 ms apart) before answering "busy". */
export const READ_ATTEMPTS = 5;

export interface Stamp {
  version: number;
  writeId: string | undefined;
}

export function stampOf(head: Item): Stamp {
  return { version: Number(head.version?.N ?? 0), writeId: head.w?.S };
}

/** An item is of a committed write when its version is older than the head's, or the head's own write. */
export function isStampCommitted(item: Item, head: Stamp): boolean {
  const version = Number(item.ver?.N ?? 0);
  return version < head.version || (version === head.version && item.w?.S === head.writeId);
}

/**
 * Whether every item read belongs to the version the head commits. Two more cases are taken as
 * committed: an item of the head's version written before the head was by a write that lost the
 * race to the head (it can never commit; its events are in the item and are applied again,
 * idempotently, when its batch is retried), and an item of a write abandoned long ago.
 */
export function isOneVersion(head: Item, items: readonly Item[], nowMs: number): boolean {
  const headAtMs = Number(head.at?.N ?? 0);
  if (head.open?.BOOL === true && nowMs - headAtMs < ABANDONED_WRITE_MS) return false;
  const stamp = stampOf(head);
  return items.every((item) => {
    const itemAtMs = Number(item.at?.N ?? 0);
    if (isStampCommitted(item, stamp) || nowMs - itemAtMs >= ABANDONED_WRITE_MS) return true;
    return Number(item.ver?.N ?? 0) === stamp.version && itemAtMs <= headAtMs;
  });
}
