/** Applies events the way the reducer does (one commit per batch) and renders the snapshot. */
import type { Event } from "../../core/contract/events.ts";
import type { Snapshot } from "../../core/contract/snapshot.ts";
import { reduce } from "../../core/estimator/reduce.ts";
import { renderSnapshot } from "../../core/estimator/snapshot.ts";
import { createJobState, type JobState } from "../../core/estimator/state.ts";

export function fold(batches: readonly (readonly Event[])[], jobId = "job-1"): JobState {
  const state = createJobState(jobId);
  batches.forEach((batch, index) => {
    reduce(state, batch, Date.parse("2026-11-22T10:00:00.000Z") + index * 1000);
  });
  return state;
}

/** One commit per event, as `headway replay` commits once per line. */
export function snapshotAfterEach(events: readonly Event[], options: { detail?: boolean } = {}): Snapshot {
  return renderSnapshot(fold(events.map((event) => [event]), events[0]?.job_id), options);
}

export function snapshotOf(events: readonly Event[], options: { detail?: boolean } = {}): Snapshot {
  return renderSnapshot(fold([events], events[0]?.job_id), options);
}

/** Each file's displayed progress, by original id. */
export const filesOf = (snapshot: Pick<Snapshot, "progress_per_original_file">): Record<string, number | null> =>
  Object.fromEntries(snapshot.progress_per_original_file.map((file) => [file.original_id, file.progress]));
