/**
 * What makes a read of a job one version (docs/storage.md, "Readers see one version"): every item a write
 * stores carries that write's version and id (`ver`, `w`, and when it was written, `at`), and the
 * head, written last, the version and write id it commits. Pure: the store decides what to read
 * and how often to try again; this module only judges what was read.
 */
import { EVENTS } from "../../settings.ts";
import type { Item } from "./items.ts";

/**
 * A read waits for a write in progress. A write stamped this long ago belongs to an invocation
 * Lambda has ended (twice the reducer's timeout: its invocation began before it stamped anything),
 * so it is abandoned: its batch comes back after the visibility timeout, or never (it went to the
 * DLQ). The first reader that finds it rolls it forward (store.ts `rollForward`): no job
 * stays unreadable longer than this, well within the visibility timeout.
 */
export const ABANDONED_WRITE_MS = 2 * EVENTS.reducerTimeoutSeconds * 1000;

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
 * The items a read cannot take as part of the version the head commits: items of a write that
 * has not committed (the head itself first, when a split left it open). An item of the head's
 * version written before the head was, by a write that lost the race to the head, is taken as
 * committed: it can never commit, and its events are in the item and are applied again,
 * idempotently, when its batch is retried.
 */
export function uncommittedOf(head: Item, items: readonly Item[]): Item[] {
  const headAtMs = Number(head.at?.N ?? 0);
  const stamp = stampOf(head);
  const blocking = items.filter((item) => !isStampCommitted(item, stamp) && !(Number(item.ver?.N ?? 0) === stamp.version && Number(item.at?.N ?? 0) <= headAtMs));
  return head.open?.BOOL === true ? [head, ...blocking] : blocking;
}

/** Whether every one of these items was written by a write abandoned by now (see ABANDONED_WRITE_MS). */
export function isAbandoned(items: readonly Item[], nowMs: number): boolean {
  return items.every((item) => nowMs - Number(item.at?.N ?? 0) >= ABANDONED_WRITE_MS);
}
