/**
 * Counted work (Tilebox-style indicators, DESIGN §1.B): the fold of indicator events into a
 * job's task tallies and label sums, and their read-out. Only the highest attempt of a task
 * counts; each event id is counted once.
 */
import type { IndicatorEvent } from "./contract.ts";
import { LIMITS } from "./contract.ts";
import { partOf } from "./partition.ts";
import type { EventRejection as Rejection } from "./rejection.ts";
import type { JobState } from "./state.ts";

export function labelKeyOf(label: string | null): string {
  return label === null ? "" : `#${label}`;
}

export function taskKey(labelKey: string, taskId: string): string {
  return `${labelKey}\u0000${taskId}`;
}

export function applyIndicator(state: JobState, event: IndicatorEvent): Rejection | null {
  const label = event.label ?? null;
  const labelKey = labelKeyOf(label);
  if (!state.labels.has(labelKey)) {
    if (state.labels.size >= LIMITS.labelsPerJob) {
      return { event, code: "too_many_labels", message: `a job has at most ${LIMITS.labelsPerJob} indicator labels` };
    }
    state.labels.set(labelKey, label);
  }
  state.hasWork = true;
  const key = taskKey(labelKey, event.task_id);
  const part = partOf(key, state.taskPartCount);
  let sums = state.taskSums.get(part);
  if (sums === undefined) state.taskSums.set(part, (sums = new Map()));
  let sum = sums.get(labelKey);
  if (sum === undefined) sums.set(labelKey, (sum = { added: 0, done: 0 }));
  let task = state.tasks.get(key);
  if (task === undefined) {
    task = { attempt: event.attempt, added: 0, done: 0, seen: new Set() };
    state.tasks.set(key, task);
  } else if (event.attempt < task.attempt) {
    return null;
  } else if (event.attempt > task.attempt) {
    sum.added -= task.added;
    sum.done -= task.done;
    task.attempt = event.attempt;
    task.added = 0;
    task.done = 0;
    task.seen.clear();
  }
  if (task.seen.has(event.event_id)) return null;
  task.seen.add(event.event_id);
  state.isChanged = true;
  if (event.type === "indicator.added") {
    task.added += event.amount;
    sum.added += event.amount;
  } else {
    task.done += event.amount;
    sum.done += event.amount;
  }
  return null;
}

/** Indicator values over every task part: the unnamed label first, then by name. */
export function indicatorValues(state: JobState): { label: string | null; done: number; total: number }[] {
  const totals = new Map<string, { done: number; total: number }>();
  for (const sums of state.taskSums.values()) {
    for (const [labelKey, sum] of sums) {
      const total = totals.get(labelKey) ?? { done: 0, total: 0 };
      total.done += sum.done;
      total.total += sum.added;
      totals.set(labelKey, total);
    }
  }
  return [...state.labels]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([labelKey, label]) => ({ label, ...(totals.get(labelKey) ?? { done: 0, total: 0 }) }));
}

