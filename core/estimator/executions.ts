/**
 * A bucket's executions, indexed by input id and then by step (an input rarely has more than a
 * few steps). Not one map keyed by `step\0input`: building and hashing that key for every event
 * was the largest cost of applying events (bench/estimator.ts).
 */
import type { Execution } from "./state.ts";

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
