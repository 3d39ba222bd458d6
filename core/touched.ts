/**
 * Which parts of a job's state a batch of events can touch, so that a store loads only those.
 * A plan that arrives once originals exist may move executions between buckets: then every part.
 */
import type { Event } from "./contract.ts";
import { labelKeyOf, taskKey, totalsOf } from "./estimator.ts";
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
        if (event.plan !== undefined && totalsOf(head).originals > 0) isEverything = true;
        break;
      case "original.added":
        original(event.original_id);
        break;
      case "step.started":
      case "step.progress":
      case "step.failed":
      case "step.completed":
        if (event.original_id !== undefined) original(event.original_id);
        else if (event.input_id !== undefined) original(event.input_id); // the input may be an original
        if (event.type === "step.completed") for (const result of event.results ?? []) if (result.original_id !== undefined) original(result.original_id);
        break;
      case "indicator.added":
      case "indicator.done":
        taskParts.add(partOf(taskKey(labelKeyOf(event.label ?? null), event.task_id), head.taskPartCount));
        break;
      default:
        break;
    }
  }
  return { parts, taskParts, isEverything };
}
