/**
 * What a subscriber has seen of one job, as data: received snapshots (whole, or one page of their
 * file list) merged into one whole snapshot, with repeats and stale ones dropped by `version`.
 * Pure: no timers, no sockets; the client (index.ts) feeds it frames in arrival order.
 */
import type { FileProgress } from "../../core/contract/snapshot.ts";
import type { FrameSnapshot } from "../../core/contract/realtime.ts";

/** A job's snapshot as the client hands it on: the whole per-file list, never a page of it. */
export type JobSnapshot = Omit<FrameSnapshot, "files_page">;

export interface MergedJob {
  /** The highest version applied (-1 before the first). */
  version: number;
  snapshot: JobSnapshot | null;
  /** Per original: its latest value and the version that value came with. */
  files: Map<string, { file: FileProgress; version: number }>;
  /** How many files the job has, as the last received snapshot said. */
  totalFiles: number;
}

export function emptyMerge(): MergedJob {
  return { version: -1, snapshot: null, files: new Map(), totalFiles: 0 };
}

/**
 * Applies one received snapshot; returns the whole snapshot to show, or null when there is none
 * yet (some files not seen in any page so far) or it changes nothing: an older version (stale: a retried post overtaken by a later one), or the same version
 * again (a repeat) unless it is a page that brings files not seen at that version yet. The fields
 * of the newest version replace the old ones; per original, the value of the newest version seen
 * for it is kept (a page's files replace theirs, the others keep the value they had).
 */
export function mergeSnapshot(merged: MergedJob, received: FrameSnapshot): JobSnapshot | null {
  if (received.version < merged.version) return null;
  const page = received.files_page;
  if (received.version === merged.version && page === undefined) return null;
  let isChanged = received.version > merged.version;
  if (page === undefined) {
    merged.files = new Map(received.progress_per_original_file.map((file) => [file.original_id, { file, version: received.version }]));
  } else {
    for (const file of received.progress_per_original_file) {
      const known = merged.files.get(file.original_id);
      if (known !== undefined && known.version >= received.version) continue;
      merged.files.set(file.original_id, { file, version: received.version });
      isChanged = true;
    }
  }
  if (!isChanged) return null;
  merged.version = received.version;
  merged.totalFiles = page?.total_files ?? received.progress_per_original_file.length;
  const { files_page: _page, ...fields } = received;
  const files = page === undefined ? received.progress_per_original_file : [...merged.files.values()].map((entry) => entry.file).sort(byOriginalId);
  merged.snapshot = { ...fields, progress_per_original_file: files };
  // Until every file has been seen there is no whole list to show (a subscribe is answered with
  // every page at once, so this is the wait for the rest of that answer).
  return merged.files.size < merged.totalFiles ? null : merged.snapshot;
}

/** True when every file of the job is known at the latest version: nothing of an older one is left in the list. */
export function isWhole(merged: MergedJob): boolean {
  if (merged.snapshot === null || merged.files.size < merged.totalFiles) return false;
  for (const { version } of merged.files.values()) if (version < merged.version) return false;
  return true;
}

// The server lists files in the default sort order of their ids; so does the merged list.
const byOriginalId = (a: FileProgress, b: FileProgress) => (a.original_id < b.original_id ? -1 : a.original_id > b.original_id ? 1 : 0);
