/**
 * The estimator's one entry point: `reduce(state, events, nowMs)` folds validated events into a
 * job's state (fold.ts) and commits once — cached estimates, displayed values, ETA and version
 * brought up to date (progress.ts) — as the reducer does per batch, `headway replay` per line,
 * and the API when it creates a job.
 *
 * The true estimate does not depend on the order or duplication of events. The deliberate
 * exceptions, all documented in docs/estimation.md: the displayed (monotone) values and the ETA depend
 * on when truth was observed; `version` counts commits; the 1,001st indicator label is refused
 * in arrival order. For speed the state is updated in place; the caller owns it.
 */
import type { Event } from "../contract/events.ts";
import { updateEta } from "./eta.ts";
import { applyEvents } from "./fold.ts";
import { recordPoint } from "./history.ts";
import { combinedEstimate, refreshEstimates, workLeftOfJob } from "./progress.ts";
import type { EventRejection } from "../contract/rejection.ts";
import { createJobState, NO_WORK_LEFT, type JobState } from "./state.ts";

export interface Reduction {
  /** Some event changed the state: the version moved. */
  isChanged: boolean;
  /** Events refused (not applied) or applied with a notice (`unknown_step`). */
  rejections: EventRejection[];
}

export function reduce(state: JobState, events: readonly Event[], nowMs: number): Reduction {
  const rejections = applyEvents(state, events);
  return { isChanged: commit(state, nowMs), rejections };
}

/**
 * Brings cached estimates, displayed values, ETA, history and version up to date. Returns whether any
 * event changed the state (then the version moves). Estimates of records loaded from storage
 * are always recomputed, even when no event changed anything, so a stored part never carries an
 * estimate made under another plan.
 */
function commit(state: JobState, nowMs: number): boolean {
  refreshEstimates(state);
  if (!state.isChanged) return false;
  const combined = combinedEstimate(state);
  if (combined.percent !== null && combined.percent > state.displayedCombined) state.displayedCombined = combined.percent;
  const isFinished = combined.percent === 100;
  updateEta(state.eta, state.compiled, isFinished || combined.fraction === null ? NO_WORK_LEFT : workLeftOfJob(state), combined.fraction, isFinished, nowMs);
  // What a snapshot of this commit shows (snapshot.ts), kept for the progress-over-time chart.
  const shown = combined.percent === null ? null : Math.max(combined.percent, state.displayedCombined);
  const etaSeconds = shown === null || state.eta.seconds === null ? null : Math.round(state.eta.seconds);
  state.history = recordPoint(state.history, { atMs: nowMs, progress: shown, etaSeconds });
  state.version++;
  state.updatedAtMs = nowMs;
  state.isChanged = false;
  return true;
}

/** A fresh state with the given events reduced as one batch. */
export function foldEvents(jobId: string, events: readonly Event[], nowMs: number): JobState {
  const state = createJobState(jobId);
  reduce(state, events, nowMs);
  return state;
}
