/**
 * The estimator: `applyEvents(state, events)` folds validated events into a job's state, and
 * `commit(state, nowMs)` brings the cached estimates, the displayed values, the ETA and the
 * version up to date (once per reducer batch, once per replay line).
 *
 * Every merge is a join: the highest attempt wins, within an attempt a terminal report beats
 * progress and the latest progress report wins, declarations are last-writer-wins by `at`, and
 * indicator amounts are counted once per event id. So the true estimate does not depend on the
 * order or duplication of events. The deliberate exceptions, all documented in README.md: the
 * displayed (monotone) values and the ETA depend on when truth was observed; `version` counts
 * commits; and the 1,001st indicator label is refused in arrival order.
 *
 * For speed the state is updated in place; the caller owns it. Nothing here reads a clock.
 */
import type { Event, EventOf, StepEvent } from "./contract.ts";
import { applyIndicator, indicatorValues } from "./indicators.ts";
import { compilePlan } from "./plan.ts";
import { partOf } from "./partition.ts";
export { indicatorValues, labelKeyOf, taskKey } from "./indicators.ts";
import { estimateBucket, percent, percentOf, type BucketRoot } from "./estimate.ts";
import { updateEta } from "./eta.ts";
import {
  COMPLETED,
  createJobState,
  createOriginal,
  FAILED,
  isNewer,
  RETRYING,
  RUNNING,
  emptyTotals,
  type BucketEstimate,
  type Execution,
  type ExecutionStatus,
  type JobState,
  type OriginalState,
  type Stamp,
  type Totals,
} from "./state.ts";

export interface Rejection {
  event: Event;
  code: "wrong_job" | "too_many_labels" | "too_many_indicator_events";
  message: string;
}

export function applyEvents(state: JobState, events: readonly Event[]): Rejection[] {
  const rejections: Rejection[] = [];
  for (const event of events) {
    const rejection = applyEvent(state, event);
    if (rejection !== null) rejections.push(rejection);
  }
  return rejections;
}

export function applyEvent(state: JobState, event: Event): Rejection | null {
  if (event.job_id !== state.jobId) {
    return { event, code: "wrong_job", message: `event of job ${event.job_id} applied to job ${state.jobId}` };
  }
  switch (event.type) {
    case "job.declared":
      applyDeclared(state, event);
      break;
    case "original.added": {
      const original = ensureOriginal(state, event.original_id);
      mergeOriginal(state, original, stampOf(event), event.mime ?? null, event.source ?? null, null);
      break;
    }
    case "originals.sealed":
      if (!state.isSealed) {
        state.isSealed = true;
        state.isChanged = true;
      }
      break;
    case "step.started":
    case "step.progress":
    case "step.completed":
    case "step.failed":
      applyStepEvent(state, event);
      break;
    case "indicator.added":
    case "indicator.done":
    case "indicator.reported":
      return applyIndicator(state, event);
    case "job.completed":
    case "job.failed":
    case "job.cancelled": {
      const stamp = stampOf(event);
      // The earliest terminal event decides: a job ends once.
      if (state.terminal === null || isNewer(state.terminal.stamp, stamp)) {
        const status = event.type === "job.completed" ? "completed" : event.type === "job.failed" ? "failed" : "cancelled";
        state.terminal = { status, stamp, error: event.error ?? null };
        state.isChanged = true;
      }
      break;
    }
  }
  return null;
}

function stampOf(event: Event): Stamp {
  return { atMs: Date.parse(event.at), eventId: event.event_id };
}

function applyDeclared(state: JobState, event: EventOf<"job.declared">): void {
  const stamp = stampOf(event);
  if (event.plan !== undefined && (state.plan === null || isNewer(stamp, state.plan.stamp))) {
    state.plan = { value: event.plan, stamp };
    state.isChanged = true;
    setCompiledPlan(state);
  }
  if (event.expect_originals !== undefined && (state.expectOriginals === null || isNewer(stamp, state.expectOriginals.stamp))) {
    state.expectOriginals = { value: event.expect_originals, stamp };
    state.isChanged = true;
  }
  if (event.emit_execution_progress !== undefined && (state.emitExecutionProgress === null || isNewer(stamp, state.emitExecutionProgress.stamp))) {
    state.emitExecutionProgress = { value: event.emit_execution_progress, stamp };
    state.isChanged = true;
  }
  if (event.notify_url !== undefined && (state.notifyUrl === null || isNewer(stamp, state.notifyUrl.stamp))) {
    state.notifyUrl = { value: event.notify_url, stamp };
    state.isChanged = true;
  }
  if (event.notify_milestones !== undefined && (state.notifyMilestones === null || isNewer(stamp, state.notifyMilestones.stamp))) {
    state.notifyMilestones = { value: [...new Set(event.notify_milestones)].sort((a, b) => a - b), stamp };
    state.isChanged = true;
  }
  for (const declared of event.originals ?? []) {
    const original = ensureOriginal(state, declared.original_id);
    if (!original.isDeclared) {
      original.isDeclared = true;
      partTotalsOf(state, original.id).declared++;
    }
    mergeOriginal(state, original, stamp, declared.mime ?? null, declared.source ?? null, null);
  }
}

/** Compiles the plan and moves executions to the bucket the plan says they belong to. */
export function setCompiledPlan(state: JobState): void {
  state.compiled = state.plan === null ? null : compilePlan(state.plan.value);
  const misplaced: Execution[] = [];
  for (const original of state.originals.values()) {
    for (const [key, execution] of original.executions) {
      if (!isPerInputStep(state, execution.step)) {
        original.executions.delete(key);
        misplaced.push(execution);
      }
    }
    markDirty(state, original);
  }
  for (const [key, execution] of state.jobExecutions) {
    if (execution.originalId !== null && isPerInputStep(state, execution.step)) {
      state.jobExecutions.delete(key);
      misplaced.push(execution);
    }
  }
  for (const execution of misplaced) {
    const bucket = bucketFor(state, execution.step, execution.originalId, execution.inputId);
    const key = executionKey(execution.step, execution.inputId);
    const present = bucket.get(key);
    bucket.set(key, present === undefined ? execution : joinExecutions(present, execution));
  }
  state.isJobBucketDirty = true;
}

function isPerInputStep(state: JobState, step: string): boolean {
  const compiled = state.compiled?.byName.get(step);
  return compiled === undefined || compiled.kind === "per-input";
}

function ensureOriginal(state: JobState, originalId: string): OriginalState {
  let original = state.originals.get(originalId);
  if (original === undefined) {
    original = createOriginal(originalId);
    state.originals.set(originalId, original);
    partTotalsOf(state, originalId).originals++;
    state.isChanged = true;
    markDirty(state, original);
  }
  return original;
}

function mergeOriginal(
  state: JobState,
  original: OriginalState,
  stamp: Stamp,
  mime: string | null,
  source: "upload" | "import" | null,
  via: string | null,
): void {
  if (via !== null && (original.via === null || via < original.via)) {
    original.via = via;
    state.isChanged = true;
  }
  if (isNewer(stamp, original.stamp)) {
    original.stamp = stamp;
    original.mime = mime ?? original.mime;
    original.source = source ?? original.source;
    state.isChanged = true;
  }
  markDirty(state, original);
}

function markDirty(state: JobState, original: OriginalState): void {
  state.dirtyOriginals.add(original);
}

export function executionKey(step: string, inputId: string): string {
  return `${step}\u0000${inputId}`;
}

function bucketFor(state: JobState, step: string, originalId: string | null, inputId: string): Map<string, Execution> {
  if (!isPerInputStep(state, step)) return state.jobExecutions;
  const original = originalId !== null ? ensureOriginal(state, originalId) : state.originals.get(inputId);
  if (original === undefined) return state.jobExecutions;
  markDirty(state, original);
  return original.executions;
}

function applyStepEvent(state: JobState, event: StepEvent): void {
  if (!state.hasWork) {
    state.hasWork = true;
    state.isChanged = true;
  }
  const originalId = event.original_id ?? null;
  const inputId = event.input_id ?? event.original_id ?? "";
  const bucket = bucketFor(state, event.step, originalId, inputId);
  if (bucket === state.jobExecutions) state.isJobBucketDirty = true;
  const key = executionKey(event.step, inputId);
  let execution = bucket.get(key);
  if (execution === undefined) {
    execution = newExecution(event.step, inputId, originalId, event.attempt);
    bucket.set(key, execution);
    state.isChanged = true;
  } else if (event.attempt < execution.attempt) {
    return; // a late report of a superseded attempt
  } else if (event.attempt > execution.attempt) {
    resetExecution(execution, event.attempt);
    state.isChanged = true;
  }
  if (execution.originalId === null && originalId !== null) {
    execution.originalId = originalId;
    state.isChanged = true;
  }
  switch (event.type) {
    case "step.started":
      return;
    case "step.progress":
      if (mergeProgress(execution, event)) state.isChanged = true;
      return;
    case "step.failed":
      if (settle(execution, event.will_retry ? RETRYING : FAILED, event.event_id)) {
        execution.error = event.error;
        state.isChanged = true;
      }
      return;
    case "step.completed":
      if (settle(execution, COMPLETED, event.event_id)) {
        recordResults(state, execution, event);
        state.isChanged = true;
      }
      return;
  }
}

function newExecution(step: string, inputId: string, originalId: string | null, attempt: number): Execution {
  return { step, inputId, originalId, attempt, status: RUNNING, report: null, resultCount: 0, resultMimes: null, error: null, decidedBy: null };
}

function resetExecution(execution: Execution, attempt: number): void {
  execution.attempt = attempt;
  execution.status = RUNNING;
  execution.report = null;
  execution.resultCount = 0;
  execution.resultMimes = null;
  execution.error = null;
  execution.decidedBy = null;
}

/** Moves the attempt to a terminal status if this report supersedes what it has; true when it did. */
function settle(execution: Execution, status: ExecutionStatus, eventId: string): boolean {
  if (status > execution.status || (status === execution.status && execution.decidedBy !== null && eventId < execution.decidedBy)) {
    execution.status = status;
    execution.decidedBy = eventId;
    execution.report = null;
    execution.error = null;
    execution.resultCount = 0;
    execution.resultMimes = null;
    return true;
  }
  return false;
}

/** Keeps the winning progress report of the attempt; true when this one won. */
function mergeProgress(execution: Execution, event: EventOf<"step.progress">): boolean {
  if (execution.status !== RUNNING) return false; // a terminal report of this attempt supersedes progress
  const [current, total] = event.progress;
  const fraction = total === null || total === 0 ? 0 : Math.min(current / total, 1);
  const atMs = Date.parse(event.at);
  const report = execution.report;
  if (report !== null) {
    if (atMs < report.atMs) return false;
    if (atMs === report.atMs) {
      if (fraction < report.fraction) return false;
      if (fraction === report.fraction && event.event_id >= report.eventId) return false;
    }
  }
  execution.report = {
    atMs,
    eventId: event.event_id,
    current,
    total,
    fraction,
    unit: event.unit ?? null,
    stepIndex: event.step_index ?? null,
    message: event.message ?? null,
  };
  return true;
}

function recordResults(state: JobState, execution: Execution, event: EventOf<"step.completed">): void {
  if (event.results === undefined) {
    execution.resultCount = event.result_count ?? 0;
    return;
  }
  execution.resultCount = event.results.length;
  execution.resultMimes = event.results.map((result) => result.mime ?? null);
  // An import's results that name an original are originals of the job (uploads' steps do not
  // create originals: their results are derived files).
  if (state.compiled?.byName.get(execution.step)?.kind === "source") {
    const stamp = stampOf(event);
    for (const result of event.results) {
      if (result.original_id === undefined) continue;
      const original = ensureOriginal(state, result.original_id);
      mergeOriginal(state, original, stamp, result.mime ?? null, "import", execution.step);
    }
  }
}

/** The join of two records of one execution (used when the plan moves it between buckets). */
function joinExecutions(a: Execution, b: Execution): Execution {
  if (a.attempt !== b.attempt) return a.attempt > b.attempt ? a : b;
  if (a.status !== b.status) return a.status > b.status ? a : b;
  if (a.status !== RUNNING) return (a.decidedBy ?? "") <= (b.decidedBy ?? "") ? a : b;
  if (a.report === null || b.report === null) return a.report === null ? b : a;
  if (a.report.atMs !== b.report.atMs) return a.report.atMs > b.report.atMs ? a : b;
  return a.report.fraction >= b.report.fraction ? a : b;
}

function partTotalsOf(state: JobState, originalId: string): Totals {
  const part = partOf(originalId, state.partCount);
  let totals = state.partTotals.get(part);
  if (totals === undefined) state.partTotals.set(part, (totals = emptyTotals()));
  return totals;
}

export function totalsOf(state: JobState): Totals {
  const totals = emptyTotals();
  for (const part of state.partTotals.values()) {
    totals.work += part.work;
    totals.done += part.done;
    totals.unavailable += part.unavailable;
    totals.unfinished += part.unfinished;
    totals.originals += part.originals;
    totals.declared += part.declared;
  }
  return totals;
}

// ---------------------------------------------------------------- commit

export function rootOf(state: JobState, original: OriginalState): BucketRoot {
  const sources = state.compiled?.sourceSteps ?? [];
  const isImport = original.via !== null || (original.source === "import" && sources.length > 0);
  const entersAt = isImport ? (original.via ?? sources[0]!.name) : ":original";
  return { kind: "original", mime: original.mime, entersAt };
}

const JOB_ROOT: BucketRoot = { kind: "job", mime: null, entersAt: ":original" };

export function estimateOriginal(state: JobState, original: OriginalState): BucketEstimate {
  if (state.compiled === null) {
    const error = firstFailure(original.executions);
    return { work: 0, done: 0, isAvailable: error !== null, isFinished: error !== null, isFailed: error !== null, error };
  }
  return estimateBucket(state.compiled, rootOf(state, original), original.executions);
}

function firstFailure(executions: Map<string, Execution>): string | null {
  let first: [string, string] | null = null;
  for (const [key, execution] of executions) {
    if (execution.status === FAILED && (first === null || key < first[0])) first = [key, execution.error ?? "failed"];
  }
  return first === null ? null : first[1];
}

export function estimateJobBucket(state: JobState): BucketEstimate {
  if (state.compiled === null) return { work: 0, done: 0, isAvailable: true, isFinished: true, isFailed: false, error: null };
  return estimateBucket(state.compiled, JOB_ROOT, state.jobExecutions);
}

/**
 * Brings cached estimates, displayed values, ETA and version up to date. Returns whether any
 * event changed the state (then the version moves). Estimates of originals loaded from storage
 * are always recomputed, even when no event changed anything, so a stored part never carries an
 * estimate made under another plan.
 */
export function commit(state: JobState, nowMs: number): boolean {
  refreshEstimates(state);
  if (!state.isChanged) return false;
  const combined = combinedEstimate(state);
  if (combined.percent !== null && combined.percent > state.displayedCombined) state.displayedCombined = combined.percent;
  updateEta(state.eta, nowMs, combined.fraction, combined.percent === 100);
  state.version++;
  state.updatedAtMs = nowMs;
  state.isChanged = false;
  return true;
}

/** Recomputes the estimates of touched (or freshly loaded) originals and of the job-level work, and their files' displayed values. */
export function refreshEstimates(state: JobState): void {
  for (const original of state.dirtyOriginals) {
    const before = original.estimate;
    const after = estimateOriginal(state, original);
    const totals = partTotalsOf(state, original.id);
    totals.work += after.work - before.work;
    totals.done += after.done - before.done;
    totals.unavailable += Number(!after.isAvailable) - Number(!before.isAvailable);
    totals.unfinished += Number(!after.isFinished) - Number(!before.isFinished);
    original.estimate = after;
    const shown = fileProgress(state, original);
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

export function isUploadComplete(state: JobState): boolean {
  if (state.isSealed) return true;
  const { originals, declared } = totalsOf(state);
  const expected = state.expectOriginals?.value ?? (declared > 0 ? declared : null);
  return typeof expected === "number" && originals >= expected;
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

/** The true combined estimate of the job (DESIGN §3.3 "precise readings"). */
export function combinedEstimate(state: JobState): CombinedEstimate {
  if (state.terminal?.status === "completed") return { percent: 100, fraction: 1 };
  const isUploadOpen = isGatedByUpload(state) && !isUploadComplete(state);
  if (state.compiled === null) {
    let added = 0;
    let done = 0;
    for (const value of indicatorValues(state)) {
      added += value.total;
      done += value.done;
    }
    if (added <= 0 || isUploadOpen) return { percent: null, fraction: null };
    return { percent: percent(done, added, done >= added), fraction: Math.min(done / added, 1) };
  }
  const { jobEstimate } = state;
  const totals = totalsOf(state);
  if (totals.unavailable > 0 || !jobEstimate.isAvailable || isUploadOpen) return { percent: null, fraction: null };
  const work = totals.work + jobEstimate.work;
  const done = totals.done + jobEstimate.done;
  const isFinished = totals.unfinished === 0 && jobEstimate.isFinished;
  return { percent: percent(done, work, isFinished), fraction: isFinished ? 1 : work > 0 ? done / work : 0 };
}

/** A fresh state with the given events applied and committed once (tests, replay of one batch). */
export function foldEvents(jobId: string, events: readonly Event[], nowMs: number): JobState {
  const state = createJobState(jobId);
  applyEvents(state, events);
  commit(state, nowMs);
  return state;
}
