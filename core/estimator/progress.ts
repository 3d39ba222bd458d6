/**
 * The read model: a job's state → its estimates (docs/estimation.md). Per record a cached estimate is
 * kept up to date for the records a batch touched, and per part the sum of them, so that the
 * job's combined figure is a sum over parts, never a pass over every original. Reads the events'
 * results only through the state; never changes what the fold decided.
 */
import { estimateBucket, estimateLoose, percent, percentOf, type BucketRoot, type StepCount } from "./estimate.ts";
import { workLeftOf } from "./eta.ts";
import { estimateJobBucket as estimateJobParts } from "./job-executions.ts";
import { partTotalsOf } from "./fold.ts";
import { indicatorTotals } from "./indicators.ts";
import { mimeOrUnknown, UNKNOWN_MIME } from "./plan.ts";
import { allExecutions, executionKey, type Executions } from "./executions.ts";
import { addTotals, addWorkLeft, EMPTY_ESTIMATE, emptyTotals, emptyWorkLeft, NO_WORK_LEFT, type BucketEstimate, type JobState, type OriginalState, type Totals, type WorkLeft } from "./state.ts";
import { FAILED } from "./executions.ts";

export function totalsOf(state: JobState): Totals {
  const totals = emptyTotals();
  for (const part of state.partTotals.values()) addTotals(totals, part);
  return totals;
}

/**
 * Where an original enters the plan, and its type. An original seen so far only in step reports
 * (no `original.added`, declaration or import result yet) has an unknown type, and an unknown
 * entry when the plan takes both uploads and imports.
 */
export function rootOf(state: JobState, original: OriginalState): BucketRoot {
  const compiled = state.compiled;
  const sources = compiled?.sourceSteps ?? [];
  const isKnown = original.stamp !== null;
  let entersAt: string | null = ":original";
  if (original.via !== null) entersAt = original.via;
  else if (original.source === "import" && sources.length > 0) entersAt = sources[0]!.name;
  else if (!isKnown && sources.length > 0) entersAt = compiled?.usesOriginals === false && sources.length === 1 ? sources[0]!.name : null;
  return { kind: "original", mime: isKnown ? mimeOrUnknown(original.mime) : UNKNOWN_MIME, entersAt, originalId: original.id, field: original.field };
}

export function estimateOriginal(state: JobState, original: OriginalState, counts?: StepCount[]): BucketEstimate {
  if (!original.isOriginal) {
    // Executions tied to no original (yet): work on results that name no original, or on an
    // original's derived files reported without it. Each counts as one execution; the job's own
    // bucket predicts the former (combinedEstimate matches the two).
    return state.compiled === null ? EMPTY_ESTIMATE : estimateLoose(state.compiled, original.executions);
  }
  if (state.compiled === null) {
    const error = firstFailure(original.executions);
    return { ...EMPTY_ESTIMATE, isAvailable: error !== null, isFinished: error !== null, isFailed: error !== null, error };
  }
  return estimateBucket(state.compiled, rootOf(state, original), original.executions, counts);
}

function firstFailure(executions: Executions): string | null {
  let first: [string, string] | null = null;
  for (const execution of allExecutions(executions)) {
    if (execution.status !== FAILED) continue;
    const key = executionKey(execution.step, execution.inputId);
    if (first === null || key < first[0]) first = [key, execution.error ?? "failed"];
  }
  return first === null ? null : first[1];
}

export function estimateJobBucket(state: JobState, counts?: StepCount[]): BucketEstimate {
  if (state.compiled === null) return EMPTY_ESTIMATE;
  return estimateJobParts(state.compiled, state, counts);
}

/**
 * The job's work left, for the ETA: the parts' sums (live or copies), and the job-level steps'
 * executions left as their parts' summaries count them (those parts keep no timings: the ETA
 * times job-level executions only by the steps' learned durations).
 */
export function workLeftOfJob(state: JobState): WorkLeft {
  const left = emptyWorkLeft();
  for (const part of state.partTotals.values()) addWorkLeft(left, part.left, 1);
  if (state.compiled === null) return left;
  const counts: StepCount[] = [];
  const estimate = estimateJobBucket(state, counts);
  addWorkLeft(left, workLeftOf(state.compiled, counts, NO_EXECUTIONS, null, estimate.isFailed), 1);
  return left;
}

const NO_EXECUTIONS: Executions = new Map();

/** Recomputes the estimates of touched (or freshly loaded) records and of the job-level work, and their files' displayed values. */
export function refreshEstimates(state: JobState): void {
  for (const original of state.dirtyOriginals) {
    const before = original.estimate;
    const counts: StepCount[] = [];
    const after = estimateOriginal(state, original, counts);
    const totals = partTotalsOf(state, original.id);
    totals.work += after.work - before.work;
    totals.done += after.done - before.done;
    totals.unavailable += Number(!after.isAvailable) - Number(!before.isAvailable);
    totals.unfinished += Number(!after.isFinished) - Number(!before.isFinished);
    totals.looseWork += after.looseWork - before.looseWork;
    totals.looseDone += after.looseDone - before.looseDone;
    original.estimate = after;
    const left = original.isOriginal && state.compiled !== null ? workLeftOf(state.compiled, counts, original.executions, original.sizeBytes, after.isFailed) : NO_WORK_LEFT;
    addWorkLeft(totals.left, original.left, -1);
    addWorkLeft(totals.left, left, 1);
    original.left = left;
    const shown = original.isOriginal ? fileProgress(state, original) : null;
    if (shown !== null && shown > original.displayed) original.displayed = shown;
  }
  state.dirtyOriginals.clear();
  if (state.isJobBucketDirty) {
    state.jobEstimate = estimateJobBucket(state);
    state.isJobBucketDirty = false;
  }
}

/** The true percentage of one original, or null while unavailable. */
export function fileProgress(state: JobState, original: OriginalState): number | null {
  if (state.terminal?.status === "completed") return 100;
  const estimate = original.estimate;
  if (estimate.isFailed) return 100;
  if (state.compiled === null || !estimate.isAvailable) return null;
  return percentOf(estimate);
}

/**
 * The upload is complete when the known originals reach the expected count: a numeric
 * `expect_originals`, else the count of the latest `originals.sealed`, else the number of
 * originals the declaration listed; a seal without a count completes it when no number was given.
 */
export function isUploadComplete(state: JobState): boolean {
  const { originals, declared } = totalsOf(state);
  const expect = state.expectOriginals?.value ?? null;
  if (typeof expect === "number") return originals >= expect;
  if (state.seal !== null) return state.seal.value === null || originals >= state.seal.value;
  return expect === null && declared > 0 && originals >= declared;
}

/**
 * Uploads gate the combined figure when the job takes uploads: its plan uses `:original`, or,
 * without a plan, originals are known. A plan fed only by imports is gated by its import steps.
 */
function isGatedByUpload(state: JobState): boolean {
  if (state.expectOriginals !== null) return true;
  return state.compiled !== null ? state.compiled.usesOriginals : totalsOf(state).originals > 0;
}

export interface CombinedEstimate {
  percent: number | null;
  /** Fraction of the work done, for the ETA; null while unavailable. */
  fraction: number | null;
}

/** The true combined estimate of the job (docs/estimation.md). */
export function combinedEstimate(state: JobState): CombinedEstimate {
  if (state.terminal?.status === "completed") return { percent: 100, fraction: 1 };
  const isUploadOpen = isGatedByUpload(state) && !isUploadComplete(state);
  if (state.compiled === null) {
    const { added, done } = indicatorTotals(state);
    if (added <= 0 || isUploadOpen) return { percent: null, fraction: null };
    return { percent: percent(done, added, done >= added), fraction: Math.min(done / added, 1) };
  }
  const { jobEstimate } = state;
  const totals = totalsOf(state);
  if (totals.unavailable > 0 || !jobEstimate.isAvailable || isUploadOpen) return { percent: null, fraction: null };
  // The job predicts the work on results that name no original (`unreported`: no execution of
  // its own accounts for it); loose executions, tied to no original, do that work, so they fill it
  // by weight. All work counts, whoever it belongs to, and 100 waits until none is outstanding or
  // in flight (a loose execution in flight leaves its record unfinished).
  const { unreported } = jobEstimate;
  const work = totals.work + jobEstimate.work;
  const done = totals.done + jobEstimate.done + Math.min(totals.looseDone, unreported);
  const isFinished = totals.unfinished === 0 && jobEstimate.isFinished && totals.looseWork >= unreported;
  return { percent: percent(done, work, isFinished), fraction: isFinished ? 1 : work > 0 ? done / work : 0 };
}
