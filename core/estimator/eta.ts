/**
 * Time to finish (`eta_seconds`). Pure: the clock is the producers' (`at`), nothing here reads one.
 *
 * Percentages never depend on what this module learns (they stay reproducible from the event
 * log); the ETA does, so it is one of the documented order-sensitive values. It rests on:
 * - What each step takes (`learnFinished`): per step of the plan, from its finished executions,
 *   each timed from the first report of its first attempt to its end (a retry's lost time counts),
 *   and from its running ones by the fraction they did in the time they ran (finished ones alone
 *   would favour the short ones, which finish first). Also per step: milliseconds per byte of the
 *   file, and per millisecond of the file's first finished execution. Sums only: bounded by the
 *   plan, never by the job.
 * - The work left (`workLeftOf`): per bucket of work (a file, or the job-level executions), per
 *   step, the executions not finished (a running one counts for the part it has left), with what
 *   is known of the file's size: the largest byte total its reports carried, or else the duration
 *   of its first finished execution; a file of unknown size is expected to weigh the mean of the
 *   sizes known (of every file that reported one, the big ones still running included). Sums of
 *   facts, kept in each part's summary beside the percentages' sums, so the job's total is a sum
 *   over parts, never a pass over every file.
 * - The concurrency observed: the job's busy time (finished executions' durations plus the
 *   running ones' time so far) over the time since its first work report, capped by how many
 *   executions a step has left (a few files on many workers do not run faster).
 *
 * ETA = max(Σ steps' work left in ms ÷ concurrency + the tail (the workers do not all finish
 * together), the longest chain of steps left, each step counting the expected longest of its
 * executions left: the one that ends last, not the mean one). A step with little evidence of its own leans on
 * the others' rate (empirical Bayes: strongly when the steps agree, hardly when they differ); a
 * step with none borrows the rate of the quickest learned steps. With no evidence of any step's
 * duration (or no plan: counted work), the rate since the first work report stands in: the time
 * since then × (1 − f) ÷ f. "Now" is the latest producer `at` seen, not the batch's time, and a
 * running execution's part left shrinks by the time since its latest report.
 *
 * `seconds` is null — no estimate to trust — while the fraction is unavailable; while nothing is
 * done and nothing learned; once the done fraction has not grown for STALE_MS of producer time (a
 * stalled job has no honest ETA); and when the result would exceed MAX_ELAPSED_FACTOR times the
 * time since the first work report, or MAX_SECONDS. It is 0 once the job is finished, at least 1
 * before. Accuracy on simulated jobs: `npm run bench -- eta` (docs/estimation.md, "ETA").
 */
import type { CompiledPlan } from "./plan.ts";
import type { StepCount } from "./estimate.ts";
import type { Executions } from "./executions.ts";
import { COMPLETED, RETRYING, RUNNING, type Execution, type ProgressReport } from "./executions.ts";
import { emptyEta, emptyStepLeft, emptyWorkLeft, type EtaState, type StepLeft, type StepTiming, type WorkLeft } from "./state.ts";

export const STALE_MS = 60_000;
export const MAX_ELAPSED_FACTOR = 100;
export const MAX_SECONDS = 30 * 24 * 3600;

/** The file's size a report gives: its total, when its unit is bytes (Golem's `Bytes`). */
export function reportedBytes(report: ProgressReport): number | null {
  const { total, unit } = report;
  return total !== null && total > 0 && (unit === "Bytes" || unit === "bytes" || unit === "B") ? total : null;
}

/** Widens the job's span of work reports to include this one. */
export function noteWork(eta: EtaState, atMs: number): void {
  if (eta.startMs === null || atMs < eta.startMs) eta.startMs = atMs;
  if (eta.latestMs === null || atMs > eta.latestMs) eta.latestMs = atMs;
}

/**
 * Learns from an execution that has just finished. `earlierMs` is the duration of its file's
 * first finished execution (another one), `sizeBytes` the file's size; null when not known.
 */
export function learnFinished(eta: EtaState, step: string | null, durationMs: number, isCompleted: boolean, sizeBytes: number | null, earlierMs: number | null): void {
  if (!(durationMs > 0)) return;
  eta.busyMs += durationMs;
  // A failure for good says how long workers were busy, not how long the step takes.
  if (!isCompleted || step === null) return;
  let timing = eta.steps.get(step);
  if (timing === undefined) eta.steps.set(step, (timing = { executions: 0, totalMs: 0, squaredMs: 0, sizedExecutions: 0, sizedMs: 0, sizedBytes: 0, timedExecutions: 0, timedMs: 0, earlierMs: 0 }));
  timing.executions++;
  timing.totalMs += durationMs;
  timing.squaredMs += durationMs * durationMs;
  if (sizeBytes !== null && sizeBytes > 0) {
    timing.sizedExecutions++;
    timing.sizedMs += durationMs;
    timing.sizedBytes += sizeBytes;
  }
  if (earlierMs !== null && earlierMs > 0) {
    timing.timedExecutions++;
    timing.timedMs += durationMs;
    timing.earlierMs += earlierMs;
  }
}

/**
 * The duration of a file's finished execution of the earliest step of the plan it finished
 * (`except` aside): the same step for every file of a pipeline, so that it tells files' sizes apart.
 */
export function firstFinishedMs(executions: Executions, plan: CompiledPlan, except?: Execution): number | null {
  let first: Execution | null = null;
  let firstIndex = Infinity;
  for (const steps of executions.values()) {
    for (const execution of steps) {
      if (execution === except || execution.status !== COMPLETED || execution.durationMs === null) continue;
      const index = plan.byName.get(execution.step)?.index ?? Infinity;
      if (first === null || index < firstIndex) {
        first = execution;
        firstIndex = index;
      }
    }
  }
  return first?.durationMs ?? null;
}

/**
 * The work a bucket has left, from its estimate's per-step counts (`counts`, filled by
 * estimateBucket) and its executions. A failed file has no work left (it counts as finished).
 */
export function workLeftOf(plan: CompiledPlan, counts: readonly StepCount[], executions: Executions, knownBytes: number | null, isFailed: boolean): WorkLeft {
  const left = emptyWorkLeft();
  let sizeBytes = knownBytes ?? 0;
  let running: Map<string, StepLeft> | null = null;
  /** Per step, the running executions with a report: their parts left squared are summed in `squares`. */
  let reported: Map<string, number> | null = null;
  for (const steps of executions.values()) {
    for (const execution of steps) {
      if ((execution.status !== RUNNING && execution.status !== RETRYING) || execution.firstAtMs === null) continue;
      left.open++;
      left.openSinceMs += execution.firstAtMs;
      const report = execution.report;
      if (execution.status !== RUNNING || report === null) continue;
      sizeBytes = Math.max(sizeBytes, reportedBytes(report) ?? 0);
      running ??= new Map();
      reported ??= new Map();
      let entry = running.get(execution.step);
      if (entry === undefined) running.set(execution.step, (entry = emptyStepLeft()));
      entry.squares += (1 - report.fraction) ** 2;
      reported.set(execution.step, (reported.get(execution.step) ?? 0) + 1);
      if (report.fraction <= 0 || report.atMs <= execution.firstAtMs) continue;
      entry.runningMs += report.atMs - execution.firstAtMs;
      entry.runningDone += report.fraction;
      entry.running++;
      entry.runningAtMs += report.atMs;
    }
  }
  const isSized = sizeBytes > 0;
  if (isSized) {
    left.sizedFiles = 1;
    left.sizedFileBytes = sizeBytes;
    left.sizedFileSquares = sizeBytes * sizeBytes;
  }
  if (isFailed) return left;
  let earlierMs: number | null | undefined;
  for (const { step, predicted, tally } of counts) {
    if (predicted === null) continue; // then the fraction, and so the ETA, is unavailable anyway
    const finished = tally.completed + tally.failed;
    const remaining = Math.max(predicted, finished + tally.inFlight) - finished - tally.fractionSum;
    if (remaining <= 1e-9) continue;
    const entry = running?.get(step.name) ?? emptyStepLeft();
    entry.executions = remaining;
    // Σ (part left)²: 1 for each execution not started or running without a report, its part left squared for the others.
    const notStarted = Math.max(predicted, finished + tally.inFlight) - finished - tally.inFlight;
    entry.squares += notStarted + tally.inFlight - (reported?.get(step.name) ?? 0);
    entry.pending = notStarted + tally.inFlight;
    if (isSized) {
      entry.sizedExecutions = remaining;
      entry.sizedBytes = remaining * sizeBytes;
      entry.sizedSquares = entry.squares * sizeBytes * sizeBytes;
      entry.runningSizedMs = entry.runningMs;
      entry.runningSizedBytes = entry.runningDone * sizeBytes;
    } else {
      earlierMs ??= firstFinishedMs(executions, plan);
      if (earlierMs !== null && earlierMs > 0) {
        entry.timedExecutions = remaining;
        entry.timedMs = remaining * earlierMs;
      }
    }
    left.steps.set(step.name, entry);
  }
  return left;
}

/** Brings `eta.seconds` up to date at a commit: `fraction` is the job's true done fraction (null: unavailable). */
export function updateEta(eta: EtaState, plan: CompiledPlan | null, left: WorkLeft, fraction: number | null, isFinished: boolean, commitMs: number): void {
  if (isFinished) {
    eta.seconds = 0;
    eta.lastFraction = 1;
    return;
  }
  if (fraction === null) {
    eta.seconds = null;
    return;
  }
  const nowMs = eta.latestMs ?? commitMs;
  if (fraction > eta.lastFraction + 1e-12 || eta.grewMs === null) {
    if (fraction > 0) eta.grewMs = nowMs;
  }
  eta.lastFraction = fraction;
  eta.seconds = trustedSeconds(eta, plan, left, fraction, nowMs);
}

function trustedSeconds(eta: EtaState, plan: CompiledPlan | null, left: WorkLeft, fraction: number, nowMs: number): number | null {
  if (eta.startMs === null || eta.grewMs === null) return null;
  const elapsedMs = nowMs - eta.startMs;
  if (elapsedMs <= 0 || nowMs - eta.grewMs > STALE_MS) return null;
  let ms = plan === null ? null : learnedMs(eta, plan, left, elapsedMs, nowMs);
  if (ms === null) {
    if (!(fraction > 0)) return null;
    ms = (elapsedMs * (1 - fraction)) / fraction;
  }
  // At least 1 while unfinished: 0 means finished. The small allowance keeps sums made in another
  // order (a part's summary rebuilt from its files) from rounding to another second.
  const seconds = Math.max(1, Math.ceil(ms / 1000 - 1e-6));
  if (!Number.isFinite(seconds) || seconds > MAX_SECONDS || seconds > (MAX_ELAPSED_FACTOR * elapsedMs) / 1000) return null;
  return seconds;
}

interface Evidence {
  ms: number;
  /** Units of work the time was spent on (executions or bytes, × the step's weight). */
  units: number;
  /** Executions it rests on. */
  executions: number;
}

/**
 * The rate a step without evidence of its own borrows: the pooled rate of the quickest learned
 * steps (those within twice the quickest's time per unit, each resting on at least one
 * execution's worth). Equal weights are meant to be equal cost, but a slow step is the usual
 * exception, and an average that a slow step inflated would slow every step still to come.
 */
function priorRate(evidence: readonly Evidence[]): number | null {
  const solid = evidence.filter((e) => e.executions >= 1 && e.ms > 0 && e.units > 0);
  if (solid.length === 0) {
    const ms = evidence.reduce((sum, e) => sum + e.ms, 0);
    const units = evidence.reduce((sum, e) => sum + e.units, 0);
    return ms > 0 && units > 0 ? ms / units : null;
  }
  const quickest = Math.min(...solid.map((e) => e.ms / e.units));
  const quick = solid.filter((e) => e.ms / e.units <= 2 * quickest);
  return quick.reduce((sum, e) => sum + e.ms, 0) / quick.reduce((sum, e) => sum + e.units, 0);
}

/** Bounds of `priorExecutions`, and its value while there is too little evidence to tell. */
const MIN_PRIOR_EXECUTIONS = 0.25;
const MAX_PRIOR_EXECUTIONS = 30;
const DEFAULT_PRIOR_EXECUTIONS = 3;

/**
 * How many executions' worth of the borrowed rate a step's own evidence is weighed against (the
 * credibility of empirical Bayes): the variance of one execution's duration within a step over the
 * variance of the steps' means between them. Steps that agree (a pipeline of like steps) pool their
 * evidence, and one step's few noisy executions do not sway the estimate; steps that differ (a slow
 * step) each keep their own.
 */
function priorExecutions(eta: EtaState, plan: CompiledPlan, durations: readonly Evidence[]): number {
  let within = 0;
  let withinExecutions = 0;
  for (const step of plan.steps) {
    const timing = eta.steps.get(step.name);
    if (timing === undefined || timing.executions < 2 || timing.totalMs <= 0) continue;
    const meanMs = timing.totalMs / timing.executions;
    within += Math.max(0, timing.squaredMs / timing.executions / (meanMs * meanMs) - 1) * timing.executions;
    withinExecutions += timing.executions;
  }
  const learned = durations.filter((e) => e.executions >= 1 && e.ms > 0 && e.units > 0);
  if (withinExecutions === 0 || learned.length < 2) return DEFAULT_PRIOR_EXECUTIONS;
  const relativeVariance = within / withinExecutions;
  const pooled = learned.reduce((sum, e) => sum + e.ms, 0) / learned.reduce((sum, e) => sum + e.units, 0);
  let between = 0;
  for (const e of learned) between += (e.ms / e.units / pooled - 1) ** 2 - relativeVariance / e.executions;
  between /= learned.length;
  if (between <= 0) return MAX_PRIOR_EXECUTIONS;
  return Math.min(MAX_PRIOR_EXECUTIONS, Math.max(MIN_PRIOR_EXECUTIONS, relativeVariance / between));
}

/** Milliseconds left from the learned durations, or null while there is no evidence of any step's duration. */
function learnedMs(eta: EtaState, plan: CompiledPlan, left: WorkLeft, elapsedMs: number, nowMs: number): number | null {
  // A step's evidence: finished executions, and the running ones by the fraction they did in the
  // time they ran (counting only the finished ones would favour the short ones, which finish first).
  const durations: Evidence[] = [];
  const perByte: Evidence[] = [];
  for (const step of plan.steps) {
    const timing = eta.steps.get(step.name);
    const running = left.steps.get(step.name);
    const executions = (timing?.executions ?? 0) + (running?.runningDone ?? 0);
    durations.push({ ms: (timing?.totalMs ?? 0) + (running?.runningMs ?? 0), units: executions * step.weight, executions });
    perByte.push({ ms: (timing?.sizedMs ?? 0) + (running?.runningSizedMs ?? 0), units: ((timing?.sizedBytes ?? 0) + (running?.runningSizedBytes ?? 0)) * step.weight, executions });
  }
  const msPerWeight = priorRate(durations);
  if (msPerWeight === null) return null;
  const msPerByteWeight = priorRate(perByte);
  const priorWeight = priorExecutions(eta, plan, durations);
  const fileSizes = left.sizedFiles > 0 && left.sizedFileBytes > 0 ? { meanBytes: left.sizedFileBytes / left.sizedFiles, meanSquareBytes: left.sizedFileSquares / left.sizedFiles } : null;

  let workMs = 0;
  let squaredMs = 0;
  let width = 0;
  const ownMs: number[] = new Array(plan.steps.length).fill(0);
  for (const step of plan.steps) {
    const stepLeft = left.steps.get(step.name);
    if (stepLeft === undefined || stepLeft.executions <= 1e-9) continue;
    const rates = stepRates(eta.steps.get(step.name), stepLeft, priorWeight, msPerWeight * step.weight, msPerByteWeight === null ? null : msPerByteWeight * step.weight, fileSizes);
    // Running executions have gone on since their latest report: that much of their part left is done.
    const sinceReportsMs = Math.max(0, stepLeft.running * nowMs - stepLeft.runningAtMs);
    const stepWorkMs = Math.max(0, stepMs(stepLeft, rates) - sinceReportsMs);
    const stepSquared = stepSquaredMs(stepLeft, rates);
    workMs += stepWorkMs;
    squaredMs += stepSquared;
    width = Math.max(width, Math.ceil(stepLeft.executions - 1e-9));
    // On the longest chain, a step counts the time left of the execution that ends last: the
    // expected longest of its executions left (a running one for the part it has left, a big file
    // for its size), less the time they have run since their latest reports.
    // At least one: a pro-rata share of a prediction can leave less than one execution pending.
    const pending = Math.max(1, stepLeft.pending > 0 ? stepLeft.pending : Math.ceil(stepLeft.executions - 1e-9));
    ownMs[step.index] = stepWorkMs > 0 ? Math.max(0, expectedLongestMs(pending, stepMs(stepLeft, rates), stepSquared) - sinceReportsMs / pending) : 0;
  }
  const busyMs = eta.busyMs + left.open * nowMs - left.openSinceMs;
  // No more executions run side by side than a step has left (a few files on many workers), or than run now.
  const concurrency = Math.max(1, Math.min(busyMs / elapsedMs, Math.max(width, left.open)));
  // Workers do not all finish together: the last executions end spread over about one execution's
  // time, so on average the job ends half an execution after its work divided among the workers.
  const tailMs = workMs > 0 ? ((1 - 1 / concurrency) * (squaredMs / workMs)) / 2 : 0;
  return Math.max(workMs / concurrency + tailMs, longestChainMs(plan, ownMs));
}

/** The files of known size: their mean size and mean squared size, in bytes. */
interface FileSizes {
  meanBytes: number;
  meanSquareBytes: number;
}

interface StepRates {
  meanMs: number;
  /**
   * An execution of a file of unknown size: the time the step takes for the mean of the known
   * sizes (else `meanMs`), and the mean of its square (unequal files make a longer tail).
   */
  unsizedMs: number;
  unsizedSquaredMs: number;
  msPerByte: number | null;
  /** Milliseconds of this step per millisecond of the file's earlier execution; null until learned. */
  perEarlierMs: number | null;
}

/**
 * A step's rates: its own evidence (finished executions, and the running ones by what they did)
 * weighed against `priorExecutions` executions' worth of the borrowed rate.
 */
function stepRates(timing: StepTiming | undefined, left: StepLeft, priorExecutions: number, priorMs: number, priorMsPerByte: number | null, fileSizes: FileSizes | null): StepRates {
  const executions = (timing?.executions ?? 0) + left.runningDone;
  const meanMs = ((timing?.totalMs ?? 0) + left.runningMs + priorExecutions * priorMs) / (executions + priorExecutions);
  const sizedMs = (timing?.sizedMs ?? 0) + left.runningSizedMs;
  const sizedBytes = (timing?.sizedBytes ?? 0) + left.runningSizedBytes;
  let msPerByte = priorMsPerByte;
  if (sizedBytes > 0 && sizedMs > 0) {
    const bytesPerExecution = sizedBytes / Math.max(executions, 1e-9);
    const priorBytes = priorMsPerByte === null ? 0 : priorExecutions * bytesPerExecution;
    msPerByte = (sizedMs + priorBytes * (priorMsPerByte ?? 0)) / (sizedBytes + priorBytes);
  }
  const perEarlierMs = timing !== undefined && timing.earlierMs > 0 ? timing.timedMs / timing.earlierMs : null;
  const bySize = msPerByte !== null && fileSizes !== null;
  const unsizedMs = bySize ? msPerByte! * fileSizes!.meanBytes : meanMs;
  const unsizedSquaredMs = bySize ? msPerByte! * msPerByte! * fileSizes!.meanSquareBytes : meanMs * meanMs;
  return { meanMs, unsizedMs, unsizedSquaredMs, msPerByte, perEarlierMs };
}

/** A step's work left in milliseconds: each file scaled by its size where that is known and the step has shown how size tells. */
function stepMs(left: StepLeft, rates: StepRates): number {
  const plain = Math.max(0, left.executions - left.sizedExecutions - left.timedExecutions);
  const sized = rates.msPerByte === null ? left.sizedExecutions * rates.meanMs : left.sizedBytes * rates.msPerByte;
  const timed = rates.perEarlierMs === null ? left.timedExecutions * rates.unsizedMs : left.timedMs * rates.perEarlierMs;
  return plain * rates.unsizedMs + sized + timed;
}

/** Σ over the step's executions left of (time left)²: with stepMs, how unequal they are (the tail of the job). */
function stepSquaredMs(left: StepLeft, rates: StepRates): number {
  if (rates.msPerByte === null || left.sizedExecutions <= 0) return left.squares * rates.unsizedSquaredMs;
  const unsizedShare = Math.max(0, 1 - left.sizedExecutions / left.executions);
  return left.sizedSquares * rates.msPerByte * rates.msPerByte + left.squares * unsizedShare * rates.unsizedSquaredMs;
}

/**
 * The expected longest of `count` executions whose times left sum to `sumMs` and their squares to
 * `squaredMs`: the mean plus the normal order statistic's share of the spread (Blom's plotting
 * position; the quantile by Tukey's lambda approximation, within 1 % where it is used).
 */
function expectedLongestMs(count: number, sumMs: number, squaredMs: number): number {
  if (count <= 0) return 0;
  const meanMs = sumMs / count;
  const spreadMs = Math.sqrt(Math.max(0, squaredMs / count - meanMs * meanMs));
  const p = (count - 0.375) / (count + 0.25);
  return meanMs + spreadMs * 4.91 * (p ** 0.14 - (1 - p) ** 0.14);
}

/** The longest path of steps with work left (each step counting one execution's time at most), which no number of workers shortens. */
function longestChainMs(plan: CompiledPlan, ownMs: number[]): number {
  const fromStep: number[] = new Array(plan.steps.length).fill(0);
  let longest = 0;
  for (let index = plan.steps.length - 1; index >= 0; index--) {
    fromStep[index]! += ownMs[index]!;
    longest = Math.max(longest, fromStep[index]!);
    if (ownMs[index] === 0) continue;
    for (const used of plan.steps[index]!.uses) {
      if (used >= 0 && ownMs[used]! > 0) fromStep[used] = Math.max(fromStep[used]!, fromStep[index]!);
    }
  }
  return longest;
}

// ---------------------------------------------------------------- stored form

/** One step's timing as stored: [name, executions, total ms, Σ ms², sized executions, sized ms, sized bytes, timed executions, timed ms, earlier ms]. */
type TimingCode = [string, number, number, number, number, number, number, number, number, number];

/**
 * The stored form of an EtaState, in the head (written on every batch, so a tuple): format 2
 * starts with the number 2. Heads written before learning existed (a 4- or 7-tuple of the old
 * smoothed rate) decode to an empty state with their last `seconds`.
 */
export type EtaCode = [2, number | null, number | null, number, number | null, number, number | null, TimingCode[]] | (number | null)[];

export function encodeEta(eta: EtaState): EtaCode {
  const steps: TimingCode[] = [...eta.steps].map(([name, t]) => [name, t.executions, t.totalMs, t.squaredMs, t.sizedExecutions, t.sizedMs, t.sizedBytes, t.timedExecutions, t.timedMs, t.earlierMs]);
  return [2, eta.startMs, eta.latestMs, eta.busyMs, eta.seconds, eta.lastFraction, eta.grewMs, steps];
}

export function decodeEta(code: EtaCode): EtaState {
  const eta = emptyEta();
  if (code.length !== 8 || code[0] !== 2 || !Array.isArray(code[7])) {
    eta.seconds = (code[3] as number | null | undefined) ?? null;
    return eta;
  }
  const [, startMs, latestMs, busyMs, seconds, lastFraction, grewMs, steps] = code as [2, number | null, number | null, number, number | null, number, number | null, TimingCode[]];
  Object.assign(eta, { startMs, latestMs, busyMs, seconds, lastFraction, grewMs });
  for (const [name, executions, totalMs, squaredMs, sizedExecutions, sizedMs, sizedBytes, timedExecutions, timedMs, earlierMs] of steps) {
    eta.steps.set(name, { executions, totalMs, squaredMs, sizedExecutions, sizedMs, sizedBytes, timedExecutions, timedMs, earlierMs });
  }
  return eta;
}
