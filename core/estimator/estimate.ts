/**
 * The estimate of one bucket of work (one original, or the job-level executions) from the
 * compiled plan and the bucket's executions (docs/estimation.md). Predicted executions follow the DAG
 * from the bucket's root; actual result counts replace predictions as executions finish.
 *
 * Predictions are kept per MIME type, because `accepts` filters by it. Counts may be fractional
 * while some executions of a step have finished and others have not: the finished ones
 * contribute their actual results, the rest a pro-rata share of the predicted results.
 */
import { acceptance, mimeOrUnknown, narrowUnknownMime, ORIGINAL_INPUT, UNKNOWN_MIME, type CompiledPlan, type CompiledStep } from "./plan.ts";
import { allExecutions, executionKey, type Executions } from "./executions.ts";
import { COMPLETED, FAILED, RUNNING } from "./executions.ts";
import { EMPTY_ESTIMATE, type BucketEstimate } from "./state.ts";

type MimeCounts = Map<string, number>;

export interface StepTally {
  completed: number;
  failed: number;
  inFlight: number;
  fractionSum: number;
  /** Executions whose input is the bucket's original itself (not one of its derived files). */
  onOriginal: number;
  /** Result MIME → count over completed executions; the key "" stands for "not given". */
  results: MimeCounts;
  firstError: { key: string; error: string } | null;
}

export interface StepCount {
  step: CompiledStep;
  predicted: number | null;
  tally: StepTally;
}

export interface BucketRoot {
  /** "job" for the job-level bucket; otherwise the original's MIME and the step it enters through. */
  kind: "job" | "original";
  /** A MIME type, or an unknown one (plan.ts `UNKNOWN_MIME`). */
  mime: string;
  /** `:original` (uploads), the name of a source step (imports), or null while not known. */
  entersAt: string | null;
  /** The original's id: executions with this input ran on the original itself. */
  originalId?: string;
  /** The form field the original came in through, when it names one (`use` may select by it). */
  field?: string | null;
}

export function emptyTally(): StepTally {
  return { completed: 0, failed: 0, inFlight: 0, fractionSum: 0, onOriginal: 0, results: new Map(), firstError: null };
}

export function tallyExecutions(plan: CompiledPlan, executions: Executions, originalId?: string): (StepTally | undefined)[] {
  const tallies: (StepTally | undefined)[] = new Array(plan.steps.length);
  for (const execution of allExecutions(executions)) {
    const step = plan.byName.get(execution.step);
    if (step === undefined) continue; // a step the plan does not name: shown in detail, not estimated
    const tally = (tallies[step.index] ??= emptyTally());
    if (execution.inputId === originalId) tally.onOriginal++;
    if (execution.status === COMPLETED) {
      tally.completed++;
      if (execution.resultMimes === null) {
        addCount(tally.results, "", execution.resultCount);
      } else {
        for (const mime of execution.resultMimes) addCount(tally.results, mime ?? "", 1);
      }
    } else if (execution.status === FAILED) {
      tally.failed++;
      const key = executionKey(execution.step, execution.inputId);
      if (tally.firstError === null || key < tally.firstError.key) tally.firstError = { key, error: execution.error ?? "failed" };
    } else {
      tally.inFlight++;
      if (execution.status === RUNNING && execution.report !== null) tally.fractionSum += execution.report.fraction;
    }
  }
  return tallies;
}

function addCount(counts: MimeCounts, mime: string, count: number): void {
  if (count !== 0) counts.set(mime, (counts.get(mime) ?? 0) + count);
}

function total(counts: MimeCounts): number {
  let sum = 0;
  for (const count of counts.values()) sum += count;
  return sum;
}

function dominantMime(counts: MimeCounts): string {
  let best = "";
  let bestCount = -1;
  for (const [mime, count] of counts) {
    if (count > bestCount || (count === bestCount && mime < best)) {
      best = mime;
      bestCount = count;
    }
  }
  return best === "" ? mimeOrUnknown(null) : best;
}

const NO_COUNTS: MimeCounts = new Map();

export function estimateBucket(
  plan: CompiledPlan,
  root: BucketRoot,
  executions: Executions,
  counts?: StepCount[],
): BucketEstimate {
  return estimateFromTallies(plan, root, tallyExecutions(plan, executions, root.originalId), counts);
}

/** The estimate of a bucket from its executions' tallies by plan step (the job-level bucket sums its parts' tallies: core/estimator/job-executions.ts). */
export function estimateFromTallies(plan: CompiledPlan, root: BucketRoot, tallies: readonly (StepTally | undefined)[], counts?: StepCount[]): BucketEstimate {
  const outputs: (MimeCounts | null)[] = new Array(plan.steps.length);
  const isJob = root.kind === "job";
  const rootOutput: MimeCounts | null = isJob ? NO_COUNTS : root.entersAt === null ? null : new Map([[root.mime, 1]]);
  let work = 0;
  let done = 0;
  let unreported = 0;
  let inFlight = 0;
  let isAvailable = true;
  let isFinished = true;
  let error: { key: string; error: string } | null = null;

  for (const step of plan.steps) {
    const tally = tallies[step.index] ?? emptyTally();
    inFlight += tally.inFlight;
    if (tally.firstError !== null && (error === null || tally.firstError.key < error.key)) error = tally.firstError;
    let inputs: MimeCounts | null = NO_COUNTS;
    let predicted: number | null;
    if (step.kind === "per-input") {
      inputs = acceptedInputs(step, root, rootOutput, outputs, tally);
      predicted = inputs === null ? null : total(inputs);
    } else if (step.kind === "per-original") {
      // One execution over all of this original's inputs (a bundling `use`), if any reach it.
      inputs = acceptedInputs(step, root, rootOutput, outputs, tally);
      predicted = inputs === null ? null : total(inputs) > 0 ? 1 : 0;
    } else {
      predicted = isJob ? 1 : 0;
    }
    counts?.push({ step, predicted, tally });

    const finished = tally.completed + tally.failed;
    if (predicted === null) {
      isAvailable = false;
      isFinished = false;
      outputs[step.index] = null;
      continue;
    }
    const executions = Math.max(predicted, finished + tally.inFlight);
    work += step.weight * executions;
    done += step.weight * (finished + tally.fractionSum);
    const pending = executions - finished;
    if (isJob && step.kind === "per-input") {
      // Work on results that name no original: reports of it are mostly loose (tied to no
      // original), so what no execution here accounts for is matched with those.
      unreported += step.weight * (pending - tally.inFlight);
      if (tally.inFlight > 0) isFinished = false;
    } else if (pending > 0) isFinished = false;

    if (pending > 0 && hasUnknownResults(step, inputs!)) {
      isAvailable = false;
      outputs[step.index] = null;
    } else if (step.kind === "source") {
      // An import's results that name an original are estimated in that original's bucket. The
      // job's own bucket carries the others on (finished results that name no original, by their
      // types) and the results still to come, of a type not known yet.
      if (isJob) outputs[step.index] = sourceOutput(step, tally, pending);
      else outputs[step.index] = root.entersAt === null ? null : root.entersAt === step.name ? rootOutput : NO_COUNTS;
    } else {
      outputs[step.index] = stepOutput(step, inputs!, tally, executions, pending);
    }
  }
  const isFailed = error !== null && !isJob;
  // A failed file is finished whole (its value is 100), but an execution of it still running keeps the job from 100.
  if (isFailed) return { ...EMPTY_ESTIMATE, work, done: work, isFinished: inFlight === 0, isFailed, error: error!.error };
  return { ...EMPTY_ESTIMATE, work, done, isAvailable, isFinished, unreported };
}

function sourceOutput(step: CompiledStep, tally: StepTally, pending: number): MimeCounts {
  if (tally.results.size === 0 && pending === 0) return NO_COUNTS;
  const output: MimeCounts = new Map();
  for (const [mime, count] of tally.results) addCount(output, mime === "" ? (step.outputMime ?? mimeOrUnknown(null)) : mime, count);
  if (pending > 0) addCount(output, UNKNOWN_MIME, pending * (step.resultsPerInput as number));
  return output;
}

/**
 * The executions of an input that no report has tied to an original: each is one execution of
 * its step, done as far as it got (`looseWork`, `looseDone`), and one still running keeps the job
 * unfinished. Steps the plan does not name count for nothing.
 */
export function estimateLoose(plan: CompiledPlan, executions: Executions): BucketEstimate {
  let looseWork = 0;
  let looseDone = 0;
  let isFinished = true;
  for (const execution of allExecutions(executions)) {
    const step = plan.byName.get(execution.step);
    if (step === undefined) continue;
    looseWork += step.weight;
    if (execution.status === COMPLETED || execution.status === FAILED) looseDone += step.weight;
    else {
      isFinished = false;
      if (execution.status === RUNNING && execution.report !== null) looseDone += step.weight * execution.report.fraction;
    }
  }
  return { ...EMPTY_ESTIMATE, isFinished, looseWork, looseDone };
}

/** Whether the step's result count for some of these inputs is not known before it runs. */
function hasUnknownResults(step: CompiledStep, inputs: MimeCounts): boolean {
  if (step.resultsPerInput === "unpredictable") return true;
  if (step.filter === null) return false;
  for (const [mime, count] of inputs) if (count > 0 && step.filter(mime) === null) return true;
  return false;
}

/** The inputs a step takes in this bucket, by MIME type; null while that cannot be told. */
function acceptedInputs(step: CompiledStep, root: BucketRoot, rootOutput: MimeCounts | null, outputs: (MimeCounts | null)[], tally: StepTally): MimeCounts | null {
  const inputs: MimeCounts = new Map();
  for (let edge = 0; edge < step.uses.length; edge++) {
    const used = step.uses[edge]!;
    // A `fields` filter in `use` passes only the originals that came in through those form fields (and those that name none).
    const fields = step.useFields[edge]!;
    if (fields !== null && root.field != null && !fields.includes(root.field)) continue;
    const isOriginal = used === ORIGINAL_INPUT;
    const source = isOriginal ? (root.entersAt === ":original" || root.entersAt === null ? rootOutput : NO_COUNTS) : outputs[used]!;
    if (source === null) return null;
    // An execution reported on such an input shows that the step took it, whatever its unknown
    // type turns out to be: on the original itself (its id as input), or on a derived file.
    const ran = tally.completed + tally.failed + tally.inFlight;
    const hasRun = isOriginal ? tally.onOriginal > 0 : ran - tally.onOriginal > 0;
    for (const [mime, count] of source) {
      const isAccepted = acceptance(step.accepts, mime);
      if (isAccepted === true) addCount(inputs, mime, count);
      else if (isAccepted === null) {
        if (!hasRun) return null;
        addCount(inputs, narrowUnknownMime(step.accepts, mime), count);
      }
    }
  }
  return inputs;
}

function stepOutput(step: CompiledStep, inputs: MimeCounts, tally: StepTally, executions: number, pending: number): MimeCounts {
  const output: MimeCounts = new Map();
  const fallbackMime = step.outputMime ?? dominantMime(inputs);
  for (const [mime, count] of tally.results) addCount(output, mime === "" ? fallbackMime : mime, count);
  // A failed execution produced nothing, but the work after it stays predicted: its file is
  // failed and counts as finished whole, so its work must not depend on when the failure was seen.
  const unproduced = pending + (typeof step.resultsPerInput === "number" ? tally.failed : 0);
  if (unproduced > 0) {
    const perInput = step.resultsPerInput as number;
    if (step.kind !== "per-input") {
      addCount(output, fallbackMime, perInput);
    } else {
      const share = unproduced / executions;
      const { filter } = step;
      // A filter passes a file whole (0 or 1 result of its type); one whose verdict cannot be told and that failed counts as passed.
      for (const [mime, count] of inputs) addCount(output, step.outputMime ?? mime, count * (filter === null ? perInput : Number(filter(mime) ?? true)) * share);
    }
  }
  return output;
}

export function percentOf(estimate: BucketEstimate): number {
  return percent(estimate.done, estimate.work, estimate.isFinished);
}

/** Integer percentage rounded down; 100 only when finished. */
export function percent(done: number, work: number, isFinished: boolean): number {
  if (isFinished) return 100;
  if (work <= 0) return 0;
  return Math.min(99, Math.max(0, Math.floor((100 * done) / work + 1e-9)));
}
