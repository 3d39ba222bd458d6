/**
 * The fold: validated events → a job's state. Every merge is a join, so the state reached does
 * not depend on the order or duplication of events: the highest attempt of an execution wins,
 * within an attempt a terminal report beats progress and the latest progress report wins,
 * declarations are last-writer-wins by `at`, and indicator amounts count once per event id.
 * Estimates are not computed here (see progress.ts); nothing here reads a clock.
 *
 * Execution identity (docs/events.md): an execution is the pair (step, input_id). Reports without
 * an `original_id` live in the record of their input id; once a report names the original, the
 * execution moves to that original and the input's record keeps a link, so every later report
 * of it, with or without the original, lands in the same place.
 */
import type { Event, EventOf, StepEvent } from "../contract/events.ts";
import { closestKey } from "../contract/issues.ts";
import { allExecutions, executionKey, findExecution, putExecution, removeExecution, type Executions } from "./executions.ts";
import { firstFinishedMs, learnFinished, noteWork, reportedBytes } from "./eta.ts";
import { applyIndicator } from "./indicators.ts";
import { compilePlan } from "./plan.ts";
import { partOf } from "./partition.ts";
import { timeOf } from "../time.ts";
import type { EventRejection as Rejection } from "../contract/rejection.ts";
import { COMPLETED, FAILED, RETRYING, RUNNING, type Execution, type ExecutionStatus } from "./executions.ts";
import { createOriginal, emptyTotals, isNewer, type JobState, type OriginalState, type Stamp, type Terminal, type Totals } from "./state.ts";

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
      return null;
    case "original.added": {
      const original = ensureOriginal(state, event.original_id);
      mergeOriginal(state, original, stampOf(event), { mime: event.mime ?? null, source: event.source ?? null, field: event.field ?? null }, null);
      return null;
    }
    case "originals.sealed":
      applySealed(state, event);
      return null;
    case "step.started":
    case "step.progress":
    case "step.completed":
    case "step.failed":
      return applyStepEvent(state, event);
    case "indicator.added":
    case "indicator.done":
    case "indicator.reported":
      noteWork(state.eta, timeOf(event.at));
      return applyIndicator(state, event);
    case "job.completed":
    case "job.failed":
    case "job.cancelled":
      applyTerminal(state, event);
      return null;
    default: {
      const unhandled: never = event;
      throw new Error(`unhandled event type ${(unhandled as Event).type}`);
    }
  }
}

export function stampOf(event: Event): Stamp {
  return { atMs: timeOf(event.at), eventId: event.event_id };
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
    mergeOriginal(state, original, stamp, { mime: declared.mime ?? null, source: declared.source ?? null, field: declared.field ?? null }, null);
  }
}

function applySealed(state: JobState, event: EventOf<"originals.sealed">): void {
  const stamp = stampOf(event);
  if (state.seal === null || isNewer(stamp, state.seal.stamp)) {
    state.seal = { value: event.count ?? null, stamp };
    state.isChanged = true;
  }
}

/** The status each terminal event type ends its job with. */
const TERMINAL_STATUS: Record<"job.completed" | "job.failed" | "job.cancelled", Terminal["status"]> = { "job.completed": "completed", "job.failed": "failed", "job.cancelled": "cancelled" };

function applyTerminal(state: JobState, event: EventOf<keyof typeof TERMINAL_STATUS>): void {
  const stamp = stampOf(event);
  // The earliest terminal event decides: a job ends once.
  if (state.terminal === null || isNewer(state.terminal.stamp, stamp)) {
    state.terminal = { status: TERMINAL_STATUS[event.type], stamp, error: event.error ?? null };
    state.isChanged = true;
  }
}

/** Compiles the plan and moves executions to the bucket the plan says they belong to. */
export function setCompiledPlan(state: JobState): void {
  state.compiled = state.plan === null ? null : compilePlan(state.plan.value);
  const misplaced: Execution[] = [];
  for (const original of state.originals.values()) {
    for (const execution of [...allExecutions(original.executions)]) {
      if (!isPerInputStep(state, execution.step)) {
        removeExecution(original.executions, execution.inputId, execution.step);
        misplaced.push(execution);
      }
    }
    markDirty(state, original);
  }
  for (const execution of [...allExecutions(state.jobExecutions)]) {
    if (isPerInputStep(state, execution.step) && (execution.originalId !== null || execution.inputId !== "")) {
      removeExecution(state.jobExecutions, execution.inputId, execution.step);
      misplaced.push(execution);
    }
  }
  for (const execution of misplaced) {
    const bucket = bucketOf(state, isPerInputStep(state, execution.step), execution.step, execution.inputId, execution.originalId);
    if (typeof bucket === "string") continue; // tied to two originals: the first link stands
    const present = findExecution(bucket, execution.inputId, execution.step);
    putExecution(bucket, present === undefined ? execution : joinExecutions(present, execution));
  }
  state.isJobBucketDirty = true;
}

function isPerInputStep(state: JobState, step: string): boolean {
  const compiled = state.compiled?.byName.get(step);
  return compiled === undefined || compiled.kind === "per-input";
}

/** The record of an id, made an original if it was only an input so far. */
function ensureOriginal(state: JobState, originalId: string): OriginalState {
  let original = state.originals.get(originalId);
  if (original === undefined) {
    original = createOriginal(originalId, true);
    state.originals.set(originalId, original);
  } else if (original.isOriginal) {
    return original;
  } else {
    original.isOriginal = true;
  }
  partTotalsOf(state, originalId).originals++;
  state.isChanged = true;
  markDirty(state, original);
  return original;
}

/** The record of an input id that step reports named without an original. */
function ensureInput(state: JobState, inputId: string): OriginalState {
  let record = state.originals.get(inputId);
  if (record === undefined) {
    record = createOriginal(inputId, false);
    state.originals.set(inputId, record);
    state.isChanged = true;
  }
  return record;
}

/** What a report says of an original; each part it leaves null keeps what the original had. */
interface OriginalFacts {
  mime: string | null;
  source: "upload" | "import" | null;
  field: string | null;
}

function mergeOriginal(state: JobState, original: OriginalState, stamp: Stamp, facts: OriginalFacts, via: string | null): void {
  if (via !== null && (original.via === null || via < original.via)) {
    original.via = via;
    state.isChanged = true;
  }
  if (isNewer(stamp, original.stamp)) {
    original.stamp = stamp;
    original.mime = facts.mime ?? original.mime;
    original.source = facts.source ?? original.source;
    original.field = facts.field ?? original.field;
    state.isChanged = true;
  }
  markDirty(state, original);
}

function markDirty(state: JobState, original: OriginalState): void {
  state.dirtyOriginals.add(original);
}

/**
 * Where the execution (step, input) lives: the job-level executions for steps that do not run
 * per input; else the original a report named (now or before, through the input's link), else
 * the input's own record. When the input is already tied to another original than the one named,
 * returns that original's id instead.
 */
function bucketOf(state: JobState, isPerInput: boolean, step: string, inputId: string, originalId: string | null): Executions | string {
  if (!isPerInput || (inputId === "" && originalId === null)) {
    state.isJobBucketDirty = true;
    return state.jobExecutions;
  }
  if (originalId !== null && originalId !== inputId) {
    // Most reports of a derived input name their original, where the execution already lives:
    // it got there only through the input's link, so that link names this original.
    const original = state.originals.get(originalId);
    if (original !== undefined && original.isOriginal && findExecution(original.executions, inputId, step) !== undefined) {
      markDirty(state, original);
      return original.executions;
    }
  }
  const input = originalId === inputId ? null : ensureInput(state, inputId);
  // The key only for inputs apart from their original: most reports name an original as their input.
  const key = input === null ? "" : executionKey(step, inputId);
  const linked = input?.links?.get(key) ?? null;
  if (linked !== null && originalId !== null && linked !== originalId) return linked;
  const target = originalId ?? linked;
  if (target === null) {
    markDirty(state, input!);
    return input!.executions;
  }
  const original = ensureOriginal(state, target);
  markDirty(state, original);
  if (input !== null && linked === null) {
    // First report tying this execution to its original: move what the input's record holds.
    (input.links ??= new Map()).set(key, target);
    const loose = removeExecution(input.executions, inputId, step);
    if (input.sizeBytes !== null && (original.sizeBytes === null || input.sizeBytes > original.sizeBytes)) original.sizeBytes = input.sizeBytes;
    if (loose !== undefined) {
      const present = findExecution(original.executions, inputId, step);
      putExecution(original.executions, present === undefined ? loose : joinExecutions(present, loose));
    }
    markDirty(state, input);
    state.isChanged = true;
  }
  return original.executions;
}

function applyStepEvent(state: JobState, event: StepEvent): Rejection | null {
  if (!state.hasWork) {
    state.hasWork = true;
    state.isChanged = true;
  }
  const originalId = event.original_id ?? null;
  const inputId = event.input_id ?? event.original_id ?? "";
  const compiledStep = state.compiled?.byName.get(event.step);
  const isKnownStep = state.compiled === null || compiledStep !== undefined;
  const bucket = bucketOf(state, compiledStep === undefined || compiledStep.kind === "per-input", event.step, inputId, originalId);
  if (typeof bucket === "string") {
    return { event, code: "conflicting_original", message: `step ${event.step} on input ${inputId} was already reported for original ${bucket}, not ${originalId}` };
  }
  const atMs = timeOf(event.at);
  noteWork(state.eta, atMs);
  let execution = findExecution(bucket, inputId, event.step);
  if (execution === undefined) {
    execution = newExecution(event.step, inputId, originalId, event.attempt);
    putExecution(bucket, execution);
    state.isChanged = true;
  }
  // Only the ETA reads it: an execution is timed from its first attempt's first report.
  if (execution.durationMs === null && (execution.firstAtMs === null || atMs < execution.firstAtMs)) execution.firstAtMs = atMs;
  if (event.attempt < execution.attempt) {
    return isKnownStep ? null : unknownStepNotice(state, event); // a late report of a superseded attempt
  } else if (event.attempt > execution.attempt) {
    const sizeBytes = sizeOf(execution);
    if (sizeBytes !== null) noteSize(state, bucket, execution, sizeBytes);
    resetExecution(execution, event.attempt);
    execution.firstAtMs ??= atMs;
    state.isChanged = true;
  }
  if (execution.originalId === null && originalId !== null) {
    execution.originalId = originalId;
    state.isChanged = true;
  }
  switch (event.type) {
    case "step.started":
      break;
    case "step.progress":
      if (mergeProgress(execution, event, atMs)) state.isChanged = true;
      break;
    case "step.failed": {
      const wasRunning = execution.status < FAILED;
      const sizeBytes = sizeOf(execution);
      if (settle(execution, event.will_retry ? RETRYING : FAILED, event.event_id)) {
        execution.error = event.error;
        state.isChanged = true;
        if (!event.will_retry) finish(state, bucket, execution, atMs, wasRunning, sizeBytes);
        else if (sizeBytes !== null) noteSize(state, bucket, execution, sizeBytes);
      }
      break;
    }
    case "step.completed": {
      const wasRunning = execution.status < FAILED;
      const sizeBytes = sizeOf(execution);
      if (settle(execution, COMPLETED, event.event_id)) {
        recordResults(state, execution, event);
        state.isChanged = true;
        finish(state, bucket, execution, atMs, wasRunning, sizeBytes);
      }
      break;
    }
    default: {
      const unhandled: never = event;
      throw new Error(`unhandled step event ${(unhandled as Event).type}`);
    }
  }
  return isKnownStep ? null : unknownStepNotice(state, event);
}

/**
 * A report of a step the plan does not name is kept (a later plan may name it) but counts for
 * nothing; the producer hears of it under the job's rejections.
 */
function unknownStepNotice(state: JobState, event: StepEvent): Rejection | null {
  if (state.compiled === null || state.compiled.byName.has(event.step)) return null;
  const known = [...state.compiled.byName.keys()];
  const suggestion = closestKey(event.step, known);
  const hint = suggestion === null ? `steps: ${known.join(", ")}` : `did you mean ${suggestion}?`;
  return { event, code: "unknown_step", message: `step ${event.step} is not in the job's plan (${hint}); the report is kept but counts for nothing` };
}

function newExecution(step: string, inputId: string, originalId: string | null, attempt: number): Execution {
  return { step, inputId, originalId, attempt, status: RUNNING, report: null, resultCount: 0, resultMimes: null, error: null, decidedBy: null, firstAtMs: null, durationMs: null };
}

function resetExecution(execution: Execution, attempt: number): void {
  execution.attempt = attempt;
  execution.status = RUNNING;
  execution.report = null;
  execution.resultCount = 0;
  execution.resultMimes = null;
  execution.error = null;
  execution.decidedBy = null;
  if (execution.durationMs !== null) {
    // Run again after it had finished: timed afresh.
    execution.durationMs = null;
    execution.firstAtMs = null;
  }
}

/** The record (an original, or an input not tied to one yet) whose executions are `bucket`; null for the job-level ones. */
function recordOf(state: JobState, bucket: Executions, execution: Execution): OriginalState | null {
  for (const id of [execution.originalId, execution.inputId]) {
    const record = id === null ? undefined : state.originals.get(id);
    if (record !== undefined && record.executions === bucket) return record;
  }
  return null;
}

/** The file size in bytes the execution's winning report gives (its progress total, in `Bytes`), if any. */
function sizeOf(execution: Execution): number | null {
  return execution.report === null ? null : reportedBytes(execution.report);
}

/**
 * A file's size for the ETA: the largest byte total its reports carried. Kept on the record when an
 * attempt ends (its report is dropped then); a running execution's report is read where it is.
 */
function noteSize(state: JobState, bucket: Executions, execution: Execution, sizeBytes: number): OriginalState | null {
  const record = recordOf(state, bucket, execution);
  if (record !== null && (record.sizeBytes === null || sizeBytes > record.sizeBytes)) record.sizeBytes = sizeBytes;
  return record;
}

/** An execution finished (completed, or failed for good): when it first did, the ETA learns how long it took. */
function finish(state: JobState, bucket: Executions, execution: Execution, atMs: number, wasRunning: boolean, sizeBytes: number | null): void {
  const record = sizeBytes === null ? recordOf(state, bucket, execution) : noteSize(state, bucket, execution, sizeBytes);
  if (!wasRunning || execution.firstAtMs === null) return;
  execution.durationMs = Math.max(0, atMs - execution.firstAtMs);
  execution.firstAtMs = null;
  const step = state.compiled?.byName.has(execution.step) === true ? execution.step : null;
  const earlierMs = record === null || state.compiled === null ? null : firstFinishedMs(record.executions, state.compiled, execution);
  learnFinished(state.eta, step, execution.durationMs, execution.status === COMPLETED, record?.sizeBytes ?? null, earlierMs);
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
function mergeProgress(execution: Execution, event: EventOf<"step.progress">, atMs: number): boolean {
  if (execution.status !== RUNNING) return false; // a terminal report of this attempt supersedes progress
  const [current, total] = event.progress;
  const fraction = total === null || total === 0 ? 0 : Math.min(current / total, 1);
  const report = execution.report;
  if (report !== null) {
    if (atMs < report.atMs) return false;
    if (atMs === report.atMs) {
      if (fraction < report.fraction) return false;
      if (fraction === report.fraction && event.event_id >= report.eventId) return false;
    }
  }
  const unit = event.unit ?? null;
  const stepIndex = event.step_index ?? null;
  const message = event.message ?? null;
  if (report === null) {
    execution.report = { atMs, eventId: event.event_id, current, total, fraction, unit, stepIndex, message };
    return true;
  }
  // Most events are progress reports: overwrite the attempt's report rather than allocate one.
  report.atMs = atMs;
  report.eventId = event.event_id;
  report.current = current;
  report.total = total;
  report.fraction = fraction;
  report.unit = unit;
  report.stepIndex = stepIndex;
  report.message = message;
  return true;
}

function recordResults(state: JobState, execution: Execution, event: EventOf<"step.completed">): void {
  if (event.results === undefined) {
    execution.resultCount = event.result_count ?? 0;
    return;
  }
  // An import's results that name an original are originals of the job (uploads' steps do not
  // create originals: their results are derived files); the others flow on in the job's own work.
  if (state.compiled?.byName.get(execution.step)?.kind === "source") {
    const stamp = stampOf(event);
    const unowned: (string | null)[] = [];
    for (const result of event.results) {
      if (result.original_id === undefined) {
        unowned.push(result.mime ?? null);
        continue;
      }
      const original = ensureOriginal(state, result.original_id);
      mergeOriginal(state, original, stamp, { mime: result.mime ?? null, source: "import", field: null }, execution.step);
    }
    execution.resultCount = unowned.length;
    execution.resultMimes = unowned;
    return;
  }
  execution.resultCount = event.results.length;
  execution.resultMimes = event.results.map((result) => result.mime ?? null);
}

/** The join of two records of one execution (used when an execution moves between buckets). */
function joinExecutions(a: Execution, b: Execution): Execution {
  const winner = pickWinner(a, b);
  if (winner.originalId === null) winner.originalId = a.originalId ?? b.originalId;
  if (winner.durationMs === null) {
    const firstAtMs = Math.min(a.firstAtMs ?? Infinity, b.firstAtMs ?? Infinity);
    winner.firstAtMs = firstAtMs === Infinity ? null : firstAtMs;
  }
  return winner;
}

function pickWinner(a: Execution, b: Execution): Execution {
  if (a.attempt !== b.attempt) return a.attempt > b.attempt ? a : b;
  if (a.status !== b.status) return a.status > b.status ? a : b;
  if (a.status !== RUNNING) return (a.decidedBy ?? "") <= (b.decidedBy ?? "") ? a : b;
  if (a.report === null || b.report === null) return a.report === null ? b : a;
  if (a.report.atMs !== b.report.atMs) return a.report.atMs > b.report.atMs ? a : b;
  if (a.report.fraction !== b.report.fraction) return a.report.fraction > b.report.fraction ? a : b;
  return a.report.eventId <= b.report.eventId ? a : b;
}

export function partTotalsOf(state: JobState, originalId: string): Totals {
  const part = partOf(originalId, state.partCount);
  let totals = state.partTotals.get(part);
  if (totals === undefined) state.partTotals.set(part, (totals = emptyTotals()));
  return totals;
}
