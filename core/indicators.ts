/**
 * Counted work (Tilebox-style indicators): the fold of indicator events into a job's state and
 * the read model of its indicator values. Pure; the state is updated in place.
 *
 * Per label, task and attempt a tally keeps two kinds of input, merged so that the order and
 * duplication of events never matter:
 * - `indicator.reported` carries the attempt's running totals; the largest `added` and the
 *   largest `done` win (`max`), so it needs no memory of event ids;
 * - `indicator.added` / `indicator.done` carry deltas that add up, each `event_id` counted once.
 *   The ids are remembered per attempt, at most LIMITS.eventIdsPerTaskAttempt of them: the next
 *   new delta of that attempt is rejected (`too_many_indicator_events`, naming
 *   `indicator.reported` as the way out), a duplicate of a remembered one is ignored.
 * The attempt's value is `max(reported) + Σ deltas`, for `added` and `done` alike: a producer that
 * mixes both forms (an SDK reporting totals, a script adding a few deltas) gets both counted.
 * Only the highest attempt of a task counts; a job's value for a label is the sum over its tasks.
 *
 * Storage (core/partition.ts): labels are spread over LABEL_BUCKETS buckets by a hash of the
 * label; each bucket owns its labels' tasks as a collection of parts, and keeps per part the
 * part's label sums. Deliberately order-dependent (docs/estimation.md): which label is a job's 1,001st and
 * which delta is one past the limit.
 */
import type { IndicatorEvent } from "./contract.ts";
import { LIMITS } from "./contract.ts";
import type { EventRejection as Rejection } from "./rejection.ts";
import { hashId, labelBucketOf, partOf } from "./partition.ts";
import type { JobState, LabelBucket, LabelSums, TaskTally } from "./state.ts";

export function labelKeyOf(label: string | null): string {
  return label === null ? "" : `#${label}`;
}

export function taskKey(labelKey: string, taskId: string): string {
  return `${labelKey}\u0000${taskId}`;
}

export function labelKeyOfTask(key: string): string {
  return key.slice(0, key.indexOf("\u0000"));
}

export function emptyBucket(): LabelBucket {
  return { labels: new Map(), taskPartCount: 1, taskSums: new Map() };
}

/** The bucket of a label; created empty when the job has none yet. */
export function bucketOfLabel(state: JobState, labelKey: string): LabelBucket {
  const index = labelBucketOf(labelKey);
  let bucket = state.labelBuckets.get(index);
  if (bucket === undefined) {
    // A store loads every bucket a batch names (core/touched.ts): an unloaded one here is a bug.
    if (state.labelBucketTotals.has(index)) throw new Error(`label bucket ${index} of job ${state.jobId} is not loaded`);
    bucket = emptyBucket();
    state.labelBuckets.set(index, bucket);
  }
  return bucket;
}

/** The number of labels the job has, loaded or not. */
export function labelCount(state: JobState): number {
  let count = 0;
  for (const bucket of state.labelBuckets.values()) count += bucket.labels.size;
  for (const totals of state.labelBucketTotals.values()) count += totals.labels;
  return count;
}

export function addedOf(task: TaskTally): number {
  return task.reportedAdded + task.added;
}

export function doneOf(task: TaskTally): number {
  return task.reportedDone + task.done;
}

export function sumOf(sums: Map<number, LabelSums>, part: number, labelKey: string): { added: number; done: number } {
  let partSums = sums.get(part);
  if (partSums === undefined) sums.set(part, (partSums = new Map()));
  let sum = partSums.get(labelKey);
  if (sum === undefined) partSums.set(labelKey, (sum = { added: 0, done: 0 }));
  return sum;
}

/**
 * Ids are kept as they are when short; a long one (up to 128 characters) as `#` and a 53-bit hash,
 * so that a full memory stays under ~17 KB. `#` cannot start an id (contract.ts Id).
 */
function seenKeyOf(eventId: string): string {
  if (eventId.length <= 16) return eventId;
  const high = hashId(eventId);
  const low = hashId(`${eventId}\u0001`) & 0x1fffff;
  return `#${(high * 0x200000 + low).toString(36)}`;
}

export function applyIndicator(state: JobState, event: IndicatorEvent): Rejection | null {
  const label = event.label ?? null;
  const labelKey = labelKeyOf(label);
  const bucket = bucketOfLabel(state, labelKey);
  if (!bucket.labels.has(labelKey)) {
    if (labelCount(state) >= LIMITS.labelsPerJob) {
      return { event, code: "too_many_labels", message: `a job has at most ${LIMITS.labelsPerJob} indicator labels` };
    }
    bucket.labels.set(labelKey, label);
  }
  state.hasWork = true;
  const key = taskKey(labelKey, event.task_id);
  const sum = sumOf(bucket.taskSums, partOf(key, bucket.taskPartCount), labelKey);
  let task = state.tasks.get(key);
  if (task === undefined) {
    task = { attempt: event.attempt, added: 0, done: 0, reportedAdded: 0, reportedDone: 0, seen: new Set() };
    state.tasks.set(key, task);
  } else if (event.attempt < task.attempt) {
    return null; // a late report of a superseded attempt
  } else if (event.attempt > task.attempt) {
    sum.added -= addedOf(task);
    sum.done -= doneOf(task);
    task.attempt = event.attempt;
    task.added = 0;
    task.done = 0;
    task.reportedAdded = 0;
    task.reportedDone = 0;
    task.seen = new Set();
    state.isChanged = true;
  }
  switch (event.type) {
    case "indicator.reported":
      if (event.added > task.reportedAdded) {
        sum.added += event.added - task.reportedAdded;
        task.reportedAdded = event.added;
        state.isChanged = true;
      }
      if (event.done > task.reportedDone) {
        sum.done += event.done - task.reportedDone;
        task.reportedDone = event.done;
        state.isChanged = true;
      }
      return null;
    case "indicator.added":
    case "indicator.done": {
      const seenKey = seenKeyOf(event.event_id);
      if (task.seen.has(seenKey)) return null;
      if (task.seen.size >= LIMITS.eventIdsPerTaskAttempt) {
        return {
          event,
          code: "too_many_indicator_events",
          message:
            `task ${event.task_id} (attempt ${event.attempt}) already sent ${LIMITS.eventIdsPerTaskAttempt} indicator.added/indicator.done events, ` +
            `the most whose event ids are remembered; send its running totals as indicator.reported instead (cumulative, no limit)`,
        };
      }
      task.seen.add(seenKey);
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
    default: {
      const unhandled: never = event;
      throw new Error(`unhandled indicator event ${(unhandled as IndicatorEvent).type}`);
    }
  }
}

/**
 * Indicator values: the unnamed label first, then by name. In a partially loaded state (one
 * reducer batch) each label bucket that is not loaded appears as one unnamed entry carrying the
 * bucket's sums, so that sums over the list (the combined figure) are right; render snapshots
 * only from whole jobs.
 */
export function indicatorValues(state: JobState): { label: string | null; done: number; total: number }[] {
  const values: [string, { label: string | null; done: number; total: number }][] = [];
  for (const bucket of state.labelBuckets.values()) {
    const totals = new Map<string, { done: number; total: number }>();
    for (const sums of bucket.taskSums.values()) {
      for (const [labelKey, sum] of sums) {
        const total = totals.get(labelKey) ?? { done: 0, total: 0 };
        total.done += sum.done;
        total.total += sum.added;
        totals.set(labelKey, total);
      }
    }
    for (const [labelKey, label] of bucket.labels) values.push([labelKey, { label, ...(totals.get(labelKey) ?? { done: 0, total: 0 }) }]);
  }
  values.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const result = values.map(([, value]) => value);
  for (const totals of state.labelBucketTotals.values()) result.push({ label: null, done: totals.done, total: totals.added });
  return result;
}

/** Σ added and Σ done over every label and task, loaded or not. */
export function indicatorTotals(state: JobState): { added: number; done: number } {
  let added = 0;
  let done = 0;
  for (const value of indicatorValues(state)) {
    added += value.total;
    done += value.done;
  }
  return { added, done };
}
