/**
 * Which parts of a job's state a batch of events can touch, so that a store loads only those.
 * A plan that arrives once originals exist may move executions between buckets: then every part.
 */
import type { Event } from "./contract.ts";
import { labelKeyOf, taskKey } from "./indicators.ts";
import { executionKey } from "./fold.ts";
import { partOf } from "./partition.ts";
import type { JobState } from "./state.ts";

export interface TouchedParts {
  parts: Set<number>;
  taskParts: Set<number>;
  isEverything: boolean;
}

export function partsTouchedBy(head: JobState, events: readonly Event[]): TouchedParts {
  const parts = new Set<number>();
  const taskParts = new Set<number>();
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
        // The execution lives with its original; its input's record holds the link to it.
        if (event.original_id !== undefined) original(event.original_id);
        if (event.input_id !== undefined) original(event.input_id);
        if (event.type === "step.completed") for (const result of event.results ?? []) if (result.original_id !== undefined) original(result.original_id);
        break;
      case "indicator.added":
      case "indicator.done":
        taskParts.add(partOf(taskKey(labelKeyOf(event.label ?? null), event.task_id), head.taskPartCount));
        break;
      case "originals.sealed":
      case "job.completed":
      case "job.failed":
      case "job.cancelled":
        break; // the head only
      default: {
        const unhandled: never = event;
        throw new Error(`unhandled event type ${(unhandled as Event).type}`);
      }
    }
  }
  return { parts, taskParts, isEverything };
}

/**
 * Parts that a batch needs once its touched parts are loaded: those of the originals that
 * loaded input records link the batch's executions to (reports naming only their input).
 */
export function partsLinkedBy(state: JobState, events: readonly Event[]): Set<number> {
  const parts = new Set<number>();
  for (const event of events) {
    if (event.type !== "step.started" && event.type !== "step.progress" && event.type !== "step.failed" && event.type !== "step.completed") continue;
    if (event.original_id !== undefined || event.input_id === undefined) continue;
    const linked = state.originals.get(event.input_id)?.links?.get(executionKey(event.step, event.input_id));
    if (linked !== undefined && !state.originals.has(linked)) parts.add(partOf(linked, state.partCount));
  }
  return parts;
}
