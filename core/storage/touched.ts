/**
 * Which items of a job's state a batch of events can touch, so that a store loads only those.
 * Two steps, because a label bucket says how its tasks are split: first the parts of originals
 * (with the groups that keep their summaries) and the label buckets, from the head and the
 * events; then, with those buckets loaded, the parts of indicator tasks.
 * A plan that arrives once originals exist may move executions between buckets: then every part.
 */
import { isIndicatorEvent, isStepEvent, type Event } from "../contract/events.ts";
import { executionKey } from "../estimator/executions.ts";
import { ATTEMPTS, labelKeyOf, taskKey } from "../estimator/indicators.ts";
import { jobExecutionKey } from "../estimator/job-executions.ts";
import { groupOf, labelBucketOf, partOf } from "../estimator/partition.ts";
import type { JobState } from "../estimator/state.ts";

export interface TouchedParts {
  parts: Set<number>;
  /** Groups (≥ 1) keeping the summaries of `parts`. */
  groups: Set<number>;
  labelBuckets: Set<number>;
  isEverything: boolean;
}

export function partsTouchedBy(head: JobState, events: readonly Event[]): TouchedParts {
  const parts = new Set<number>();
  let isEverything = false;
  const original = (id: string) => parts.add(partOf(id, head.partCount));
  for (const event of events) {
    switch (event.type) {
      case "job.declared":
        for (const declared of event.originals ?? []) original(declared.original_id);
        // A new plan may move executions between records: every stored record must be loaded.
        if (event.plan !== undefined && head.partTotals.size > 0) isEverything = true;
        break;
      case "original.added":
        original(event.original_id);
        break;
      case "step.started":
      case "step.progress":
      case "step.failed":
      case "step.completed":
        if (event.original_id !== undefined) original(event.original_id);
        if (event.input_id !== undefined) original(event.input_id); // the input may be an original, or a record of its own
        if (event.type === "step.completed") for (const result of event.results ?? []) if (result.original_id !== undefined) original(result.original_id);
        break;
      case "indicator.added":
      case "indicator.done":
      case "indicator.reported":
      case "originals.sealed":
      case "job.completed":
      case "job.failed":
      case "job.cancelled":
        break;
      default: {
        const unhandled: never = event;
        throw new Error(`unhandled event type ${(unhandled as Event).type}`);
      }
    }
  }
  if (isEverything) for (let part = 0; part < head.partCount; part++) parts.add(part);
  const groups = new Set<number>();
  for (const part of parts) if (groupOf(part) > 0) groups.add(groupOf(part));
  return { parts, groups, labelBuckets: labelBucketsTouchedBy(events), isEverything };
}

/**
 * The job parts (core/estimator/job-executions.ts) whose executions the events touch: reports of steps that
 * do not run per file under the head's plan, or that name neither input nor original. A batch
 * that brings a plan may move executions into or out of job parts: then every part.
 */
export function jobPartsTouchedBy(head: JobState, events: readonly Event[]): Set<number> {
  const parts = new Set<number>();
  for (const event of events) {
    if (event.type === "job.declared" && event.plan !== undefined) return new Set(Array.from({ length: head.jobPartCount }, (_, part) => part));
    if (!isStepEvent(event)) continue;
    const step = head.compiled?.byName.get(event.step);
    const isPerInput = step === undefined || step.kind === "per-input";
    const inputId = event.input_id ?? event.original_id ?? "";
    if (!isPerInput || (inputId === "" && event.original_id === undefined)) parts.add(partOf(jobExecutionKey(event.step, inputId), head.jobPartCount));
  }
  return parts;
}

/** The label buckets indicator events name (no head needed, so a store reads them with the head). */
export function labelBucketsTouchedBy(events: readonly Event[]): Set<number> {
  const buckets = new Set<number>();
  for (const event of events) {
    if (!isIndicatorEvent(event)) continue;
    buckets.add(labelBucketOf(labelKeyOf(event.label ?? null)));
    buckets.add(labelBucketOf(ATTEMPTS)); // the task's attempt index
  }
  return buckets;
}

/** Per label bucket, the parts of its tasks the events touch; the buckets must be loaded. */
export function taskPartsTouchedBy(state: JobState, events: readonly Event[]): Map<number, Set<number>> {
  const touched = new Map<number, Set<number>>();
  for (const event of events) {
    if (!isIndicatorEvent(event)) continue;
    for (const labelKey of [labelKeyOf(event.label ?? null), ATTEMPTS]) {
      const index = labelBucketOf(labelKey);
      const partCount = state.labelBuckets.get(index)?.taskPartCount ?? 1;
      let parts = touched.get(index);
      if (parts === undefined) touched.set(index, (parts = new Set()));
      parts.add(partOf(taskKey(labelKey, event.task_id), partCount));
    }
  }
  return touched;
}

/**
 * Parts that a batch needs once its touched parts are loaded: those of the originals that
 * loaded input records link the batch's executions to (reports naming only their input).
 */
export function partsLinkedBy(state: JobState, events: readonly Event[]): Set<number> {
  const parts = new Set<number>();
  for (const event of events) {
    if (!isStepEvent(event)) continue;
    if (event.original_id !== undefined || event.input_id === undefined) continue;
    const linked = state.originals.get(event.input_id)?.links?.get(executionKey(event.step, event.input_id));
    if (linked !== undefined && !state.originals.has(linked)) parts.add(partOf(linked, state.partCount));
  }
  return parts;
}
