/**
 * Job-level executions in parts (docs/storage.md, "Limits": no item grows with the job): the executions of steps
 * that do not run per file (`per: "job"` steps, imports and other sources, and a plan-less job's
 * steps reported without an input) are spread over parts by a hash of their key, as originals are
 * (core/estimator/partition.ts, linear hashing), so that 100,000 inputs of an import or 4,000 step names
 * are as many small items rather than one head that outgrows DynamoDB's 400 KB.
 *
 * The job-level figure sums what each part's executions contribute per plan step, so each part
 * has a summary (per step of the plan: completed, failed, in flight, Σ in-flight fractions,
 * results by MIME type), kept as a copy in the head; a loaded part's own summary always replaces
 * its copy. Steps the plan does not name count for nothing and are left out (a plan-less job's
 * 4,000 step names cost the head nothing); a new plan loads every part, so its summaries are
 * rebuilt under it.
 * Pure: no I/O, no clock.
 */
import { allExecutions, putExecution } from "./executions.ts";
import { estimateFromTallies, emptyTally, type StepCount, type StepTally } from "./estimate.ts";
import { partOf } from "./partition.ts";
import type { CompiledPlan } from "./plan.ts";
import { UNKNOWN_MIME } from "./plan.ts";
import { COMPLETED, FAILED, RUNNING, type Execution } from "./executions.ts";
import { type BucketEstimate, type JobPartSummary, type JobState } from "./state.ts";

/**
 * Job parts: the head keeps one summary copy per part, so their number is bounded (a part grows
 * past the split size beyond it: 256 parts of up to 64 KB hold about a million executions).
 */
export const MAX_JOB_PARTS = 256;
/** Result MIME types a part's summary keeps per step (the most frequent); the rest count as "not given", which takes the step's `output_mime` or its inputs' type. */
export const SUMMARY_MIMES_PER_STEP = 16;

/** What places a job-level execution in its part: its input, or its step's name when it names no input. */
export function jobExecutionKey(step: string, inputId: string): string {
  return inputId === "" ? `\u0000${step}` : inputId;
}

export const jobPartOf = (execution: Pick<Execution, "step" | "inputId">, partCount: number) => partOf(jobExecutionKey(execution.step, execution.inputId), partCount);

export type { JobPartSummary };

export function summarize(executions: Iterable<Execution>, plan: CompiledPlan | null): JobPartSummary {
  const summary: JobPartSummary = { executions: 0, steps: new Map() };
  for (const execution of executions) {
    summary.executions++;
    if (plan?.byName.has(execution.step) !== true) continue;
    let step = summary.steps.get(execution.step);
    if (step === undefined) summary.steps.set(execution.step, (step = { completed: 0, failed: 0, inFlight: 0, fractionSum: 0, results: new Map() }));
    if (execution.status === COMPLETED) {
      step.completed++;
      if (execution.resultMimes === null) addResults(step.results, "", execution.resultCount);
      else for (const mime of execution.resultMimes) addResults(step.results, mime ?? "", 1);
    } else if (execution.status === FAILED) step.failed++;
    else {
      step.inFlight++;
      if (execution.status === RUNNING && execution.report !== null) step.fractionSum += execution.report.fraction;
    }
  }
  for (const step of summary.steps.values()) step.results = boundedMimes(step.results);
  return summary;
}

function addResults(results: Map<string, number>, mime: string, count: number): void {
  if (count !== 0) results.set(mime, (results.get(mime) ?? 0) + count);
}

/** At most SUMMARY_MIMES_PER_STEP types (by count, then name), the others pooled as "not given" (""). */
function boundedMimes(results: Map<string, number>): Map<string, number> {
  if (results.size <= SUMMARY_MIMES_PER_STEP) return results;
  const ranked = [...results].filter(([mime]) => mime !== "").sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
  const kept = new Map(ranked.slice(0, SUMMARY_MIMES_PER_STEP - 1));
  let pooled = results.get("") ?? 0;
  for (const [, count] of ranked.slice(SUMMARY_MIMES_PER_STEP - 1)) pooled += count;
  kept.set("", pooled);
  return kept;
}

/** The loaded job-level executions, by part. */
export function loadedByPart(state: JobState): Map<number, Execution[]> {
  const byPart = new Map<number, Execution[]>();
  for (const part of state.loadedJobParts) byPart.set(part, []);
  for (const execution of allExecutions(state.jobExecutions)) {
    const part = jobPartOf(execution, state.jobPartCount);
    const list = byPart.get(part);
    if (list === undefined) throw new Error(`job ${state.jobId}: a job-level execution of step ${execution.step} belongs to job part ${part}, which is not loaded`);
    list.push(execution);
  }
  return byPart;
}

/** Every part's summary: the loaded parts' own, the others' copies. */
export function jobPartSummaries(state: JobState): Map<number, JobPartSummary> {
  const summaries = new Map(state.jobPartCopies);
  for (const [part, executions] of loadedByPart(state)) summaries.set(part, summarize(executions, state.compiled));
  return summaries;
}

/** How many job-level executions the job has, stored or loaded. */
export function jobExecutionCount(state: JobState): number {
  let count = 0;
  for (const summary of jobPartSummaries(state).values()) count += summary.executions;
  return count;
}

const JOB_ROOT = { kind: "job" as const, mime: UNKNOWN_MIME, entersAt: ":original" };

/** The job-level bucket's estimate, from every part's summary (docs/estimation.md: job-level steps count in the combined figure). */
export function estimateJobBucket(plan: CompiledPlan, state: JobState, counts?: StepCount[]): BucketEstimate {
  const tallies: (StepTally | undefined)[] = new Array(plan.steps.length);
  for (const summary of jobPartSummaries(state).values()) {
    for (const [name, step] of summary.steps) {
      const planned = plan.byName.get(name);
      if (planned === undefined) continue; // a step the plan does not name: shown in detail, not estimated
      const tally = (tallies[planned.index] ??= emptyTally());
      tally.completed += step.completed;
      tally.failed += step.failed;
      tally.inFlight += step.inFlight;
      tally.fractionSum += step.fractionSum;
      for (const [mime, count] of step.results) addResults(tally.results, mime, count);
    }
  }
  return estimateFromTallies(plan, JOB_ROOT, tallies, counts);
}

/** Adds a stored job part to a state: its executions (those that still map to it: see loadPart) and its summary, live from now on. */
export function loadJobExecutions(state: JobState, part: number, executions: Iterable<Execution>): void {
  for (const execution of executions) if (jobPartOf(execution, state.jobPartCount) === part) putExecution(state.jobExecutions, execution);
  state.loadedJobParts.add(part);
  state.jobPartCopies.delete(part);
  state.isJobBucketDirty = true;
}

/** Grows the job parts by one: part `splitSource(n)` (which must be loaded) shares its executions with the new part n. */
export function growJobParts(state: JobState, source: number): number {
  if (!state.loadedJobParts.has(source)) throw new Error(`job ${state.jobId}: job part ${source} must be loaded to split`);
  const target = state.jobPartCount;
  state.jobPartCount++;
  state.loadedJobParts.add(target);
  return target;
}
