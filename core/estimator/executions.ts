/**
 * Executions: one attempt of one step on one input, its status and winning report, and a
 * bucket's executions, indexed by input id and then by step (an input rarely has more than a
 * few steps). Not one map keyed by `step\0input`: building and hashing that key for every event
 * was the largest cost of applying events (bench/estimator.ts).
 */
/** Status of one attempt of an execution, in the order in which they supersede each other. */
export const RUNNING = 0;
export const RETRYING = 1; // failed with will_retry: the attempt's progress is void
export const FAILED = 2; // failed for good: counts as finished, marks its file failed
export const COMPLETED = 3;
export type ExecutionStatus = typeof RUNNING | typeof RETRYING | typeof FAILED | typeof COMPLETED;

export interface Execution {
  step: string;
  inputId: string;
  originalId: string | null;
  attempt: number;
  status: ExecutionStatus;
  /** The winning in-flight report of this attempt (latest `at`, then larger fraction). */
  report: ProgressReport | null;
  /**
   * Results of a completed attempt; `resultMimes` entries are null where the producer gave none.
   * For a source step (an import) only the results that name no original: those naming one are
   * originals, estimated in their own records.
   */
  resultCount: number;
  resultMimes: (string | null)[] | null;
  error: string | null;
  /** Event that decided a terminal status; ties between two terminal reports go to the smaller id. */
  decidedBy: string | null;
  /** While it runs: the producer time of its earliest report, of any attempt (the ETA times an execution from its first attempt). */
  firstAtMs: number | null;
  /** Once finished (completed, or failed for good): how long it took from then; null while it runs. */
  durationMs: number | null;
}

export interface ProgressReport {
  atMs: number;
  eventId: string;
  current: number;
  total: number | null;
  fraction: number;
  unit: string | null;
  stepIndex: [number, number] | null;
  message: string | null;
}

export type Executions = Map<string, Execution[]>;

/** The key of an execution where one string must name it (links, the order of failures). */
export function executionKey(step: string, inputId: string): string {
  return `${step}\u0000${inputId}`;
}

export function findExecution(executions: Executions, inputId: string, step: string): Execution | undefined {
  const steps = executions.get(inputId);
  if (steps === undefined) return undefined;
  for (const execution of steps) if (execution.step === step) return execution;
  return undefined;
}

/** Adds the execution, or replaces the one of the same input and step. */
export function putExecution(executions: Executions, execution: Execution): void {
  const steps = executions.get(execution.inputId);
  if (steps === undefined) {
    executions.set(execution.inputId, [execution]);
    return;
  }
  const index = steps.findIndex((present) => present.step === execution.step);
  if (index === -1) steps.push(execution);
  else steps[index] = execution;
}

export function removeExecution(executions: Executions, inputId: string, step: string): Execution | undefined {
  const steps = executions.get(inputId);
  if (steps === undefined) return undefined;
  const index = steps.findIndex((present) => present.step === step);
  if (index === -1) return undefined;
  const [removed] = steps.splice(index, 1);
  if (steps.length === 0) executions.delete(inputId);
  return removed;
}

export function* allExecutions(executions: Executions): Generator<Execution> {
  for (const steps of executions.values()) yield* steps;
}

export function executionCount(executions: Executions): number {
  let count = 0;
  for (const steps of executions.values()) count += steps.length;
  return count;
}
