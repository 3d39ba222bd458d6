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
 * Only the highest attempt of a task counts, under every label: a task's higher attempt replaces
 * everything its lower attempts reported, also under labels it does not report. Tallies live by
 * label (below), so a task also keeps an attempt index (the task record of the reserved key
 * `ATTEMPTS`, read with every event of the task): its highest attempt, and a mirror of its tally
 * under each label. A label whose tally is of a lower attempt is cancelled by the index, which
 * adds minus that tally to the sums under `ATTEMPTS` (so every sum stays right without loading the
 * label's items), and the display subtracts it from that label. A job's value for a label is the
 * sum over its tasks.
 *
 * Storage (core/estimator/partition.ts): labels are spread over LABEL_BUCKETS buckets by a hash of the
 * label; each bucket owns its labels' tasks as a collection of parts, and keeps per part the
 * part's label sums. Deliberately order-dependent (docs/estimation.md): which label is a job's 1,001st and
 * which delta is one past the limit.
 */
import type { IndicatorEvent } from "../contract/events.ts";
import { LIMITS } from "../contract/fields.ts";
import type { EventRejection as Rejection } from "../contract/rejection.ts";
import { hashId, labelBucketOf, partOf } from "./partition.ts";
import type { JobState, LabelBucket, LabelMirror, LabelSums, TaskTally } from "./state.ts";

export function labelKeyOf(label: string | null): string {
  return label === null ? "" : `#${label}`;
}

/** The label key of tasks' attempt indexes: no label's key ("" or "#…") starts with "!". */
export const ATTEMPTS = "!attempts";

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
    // A store loads every bucket a batch names (core/storage/touched.ts): an unloaded one here is a bug.
    if (state.labelBucketTotals.has(index)) throw new Error(`label bucket ${index} of job ${state.jobId} is not loaded`);
    bucket = emptyBucket();
    state.labelBuckets.set(index, bucket);
  }
  return bucket;
}

/** The labels a bucket holds, less the reserved key of the attempt indexes. */
export function labelsIn(bucket: LabelBucket): number {
  return bucket.labels.size - Number(bucket.labels.has(ATTEMPTS));
}

/** The number of labels the job has, loaded or not. */
export function labelCount(state: JobState): number {
  let count = 0;
  for (const bucket of state.labelBuckets.values()) count += labelsIn(bucket);
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
 * A key kept as it is when short; a long one (an event id up to 128 characters, a label key up to
 * 101) as `~` and a 53-bit hash, so that a full memory of event ids stays under ~17 KB and a
 * mirror per label stays small. `~` starts neither an id (contract/fields.ts Id) nor a label key.
 */
export function compactKey(key: string): string {
  if (key.length <= 16) return key;
  const high = hashId(key);
  const low = hashId(`${key}\u0001`) & 0x1fffff;
  return `~${(high * 0x200000 + low).toString(36)}`;
}

/** What a task record adds to the sums of its bucket: a tally under its label; an attempt index, minus its stale mirrors under ATTEMPTS. */
export function contributionOf(key: string, task: TaskTally): { labelKey: string; added: number; done: number } {
  if (task.mirrors === undefined) return { labelKey: labelKeyOfTask(key), added: addedOf(task), done: doneOf(task) };
  let added = 0;
  let done = 0;
  for (const mirror of task.mirrors.values()) {
    if (mirror.attempt >= task.attempt) continue;
    added -= mirror.added;
    done -= mirror.done;
  }
  return { labelKey: ATTEMPTS, added, done };
}

/** The task's attempt index (created at this attempt), its bucket's sums adjusted as it changes. */
function attemptIndexOf(state: JobState, taskId: string, attempt: number): { key: string; index: TaskTally; bucket: LabelBucket } {
  const key = taskKey(ATTEMPTS, taskId);
  const bucket = bucketOfLabel(state, ATTEMPTS);
  let index = state.tasks.get(key);
  if (index === undefined) {
    if (!bucket.labels.has(ATTEMPTS)) bucket.labels.set(ATTEMPTS, null);
    index = { attempt, added: 0, done: 0, reportedAdded: 0, reportedDone: 0, seen: new Set(), mirrors: new Map() };
    state.tasks.set(key, index);
  }
  return { key, index, bucket };
}

/** Applies `change` to an attempt index, moving its contribution in its bucket's sums. */
function changeIndex(attempts: { key: string; index: TaskTally; bucket: LabelBucket }, change: (index: TaskTally) => void): void {
  const { key, index, bucket } = attempts;
  const before = contributionOf(key, index);
  change(index);
  const after = contributionOf(key, index);
  if (after.added === before.added && after.done === before.done) return;
  const sum = sumOf(bucket.taskSums, partOf(key, bucket.taskPartCount), ATTEMPTS);
  sum.added += after.added - before.added;
  sum.done += after.done - before.done;
}

function mirror(task: TaskTally): LabelMirror {
  return { attempt: task.attempt, added: addedOf(task), done: doneOf(task) };
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
  const attempts = attemptIndexOf(state, event.task_id, event.attempt);
  if (event.attempt < attempts.index.attempt) return null; // a late report of a superseded attempt, under any label
  if (event.attempt > attempts.index.attempt) {
    changeIndex(attempts, (index) => (index.attempt = event.attempt));
    state.isChanged = true;
  }
  const key = taskKey(labelKey, event.task_id);
  const rejection = applyToTally(state, event, bucket, key);
  const task = state.tasks.get(key);
  const labelMirror = compactKey(labelKey);
  const mirrored = attempts.index.mirrors!.get(labelMirror);
  if (task !== undefined && (mirrored === undefined || mirrored.attempt !== task.attempt || mirrored.added !== addedOf(task) || mirrored.done !== doneOf(task))) {
    changeIndex(attempts, (index) => index.mirrors!.set(labelMirror, mirror(task)));
  }
  return rejection;
}

function applyToTally(state: JobState, event: IndicatorEvent, bucket: LabelBucket, key: string): Rejection | null {
  const labelKey = labelKeyOfTask(key);
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
      const seenKey = compactKey(event.event_id);
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
 * Indicator values, the unnamed label first, then by name; each label less what the attempt
 * indexes cancel of it. Render snapshots only from whole jobs: a partially loaded state (one
 * reducer batch) lacks the labels and tasks of the buckets it did not load.
 */
export function indicatorValues(state: JobState): { label: string | null; done: number; total: number }[] {
  const cancelled = new Map<string, { added: number; done: number }>();
  for (const task of state.tasks.values()) {
    if (task.mirrors === undefined) continue;
    for (const [label, mirrored] of task.mirrors) {
      if (mirrored.attempt >= task.attempt) continue;
      const sum = cancelled.get(label) ?? { added: 0, done: 0 };
      sum.added += mirrored.added;
      sum.done += mirrored.done;
      cancelled.set(label, sum);
    }
  }
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
    for (const [labelKey, label] of bucket.labels) {
      if (labelKey === ATTEMPTS) continue;
      const total = totals.get(labelKey) ?? { done: 0, total: 0 };
      const less = cancelled.get(compactKey(labelKey));
      values.push([labelKey, { label, done: total.done - (less?.done ?? 0), total: total.total - (less?.added ?? 0) }]);
    }
  }
  values.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return values.map(([, value]) => value);
}

/** Σ added and Σ done over every label and task, loaded or not (what the attempt indexes cancel included). */
export function indicatorTotals(state: JobState): { added: number; done: number } {
  let added = 0;
  let done = 0;
  for (const bucket of state.labelBuckets.values()) {
    for (const sums of bucket.taskSums.values()) {
      for (const sum of sums.values()) {
        added += sum.added;
        done += sum.done;
      }
    }
  }
  for (const totals of state.labelBucketTotals.values()) {
    added += totals.added;
    done += totals.done;
  }
  return { added, done };
}
