/**
 * The items under a job's head, each bounded whatever the job's size (the layout:
 * core/estimator/partition.ts): job parts of job-level executions, groups of part summaries,
 * parts of originals, label buckets and parts of indicator tasks; and the moves a store makes when
 * a collection grows by one part.
 */
import { loadedByPart, loadJobExecutions } from "../estimator/job-executions.ts";
import { refreshEstimates } from "../estimator/progress.ts";
import { contributionOf, emptyBucket, labelKeyOfTask, sumOf } from "../estimator/indicators.ts";
import { GROUP_PARTS, groupOf, labelBucketOf, partOf, splitSource } from "../estimator/partition.ts";
import { addWorkLeft, emptyTotals, type JobState, type LabelSums, type OriginalState, type TaskTally, type Totals } from "../estimator/state.ts";
import type { Execution } from "../estimator/executions.ts";
import { FORMAT, type ExecutionCode, type OriginalCode, encodeExecution, decodeExecution, encodeOriginal, decodeOriginal, declared, type TotalsCode, totalsCode, totalsOfCode, timeBaseOf } from "./records.ts";

// ---------------------------------------------------------------- job parts (core/estimator/job-executions.ts)

export interface JobPartCode {
  f: number;
  executions: ExecutionCode[];
}

/** The given job parts (loaded ones: see core/estimator/job-executions.ts `loadedByPart`), encoded. */
export function encodeJobParts(s: JobState, parts: Iterable<number>): Map<number, JobPartCode> {
  const byPart = loadedByPart(s);
  const encoded = new Map<number, JobPartCode>();
  for (const part of parts) encoded.set(part, encodeJobPart(byPart.get(part) ?? []));
  return encoded;
}

export function encodeJobPart(executions: readonly Execution[]): JobPartCode {
  return { f: FORMAT, executions: executions.map(encodeExecution) };
}

/** Adds a stored job part to a state (null: an empty part). */
export function loadJobPart(s: JobState, part: number, c: JobPartCode | null): void {
  loadJobExecutions(s, part, (c?.executions ?? []).map(decodeExecution));
}

// ---------------------------------------------------------------- groups of part summaries

export interface GroupCode {
  f: number;
  parts: TotalsCode[];
  /** The base of the copies' sums of times (see totalsCode). */
  timeBase?: number;
}

/** The given groups (≥ 1), encoded from the loaded parts' summaries and the copies of the others. */
export function encodeGroups(s: JobState, groups: Iterable<number>): Map<number, GroupCode> {
  const encoded = new Map<number, GroupCode>();
  const timeBase = timeBaseOf(s);
  for (const group of groups) encoded.set(group, { f: FORMAT, parts: [], timeBase });
  for (const [key, totals] of [...s.partTotals].sort((a, b) => a[0] - b[0])) if (key >= GROUP_PARTS) encoded.get(groupOf(key))?.parts.push(totalsCode(key, totals, timeBase));
  return encoded;
}

/** Replaces the head's copy of a group's sum by the group's copies of its parts (none: an empty group). */
export function loadGroup(s: JobState, group: number, c: GroupCode | null): void {
  s.partTotals.delete(-group);
  for (const code of c?.parts ?? []) if (code[0] < s.partCount) s.partTotals.set(code[0], totalsOfCode(code, c?.timeBase ?? 0));
}

// ---------------------------------------------------------------- parts of originals

/** A part holds contents only: its summary is rebuilt from them whenever it is loaded. */
export interface PartCode {
  f: number;
  originals: OriginalCode[];
}

/** The given parts of originals, encoded; one pass over the loaded originals whatever the number of parts. */
export function encodeParts(s: JobState, parts: Iterable<number>, originals: Iterable<OriginalState> = s.originals.values()): Map<number, PartCode> {
  const encoded = new Map<number, PartCode>();
  for (const part of parts) encoded.set(part, { f: FORMAT, originals: [] });
  for (const original of originals) encoded.get(partOf(original.id, s.partCount))?.originals.push(encodeOriginal(original));
  return encoded;
}

/** What one original adds to its part's summary (its cached estimate is EMPTY until the next refresh). */
function addOriginal(t: Totals, original: OriginalState, sign: 1 | -1): void {
  const e = original.estimate;
  t.work += sign * e.work;
  t.done += sign * e.done;
  t.unavailable += sign * Number(!e.isAvailable);
  t.unfinished += sign * Number(!e.isFinished);
  t.looseWork += sign * e.looseWork;
  t.looseDone += sign * e.looseDone;
  if (original.isOriginal) t.originals += sign;
  if (original.isDeclared) t.declared += sign;
  addWorkLeft(t.left, original.left, sign);
}

/**
 * Adds a stored part to a state. Its summary is replaced by one rebuilt from its contents: counts
 * now, estimates at the next refresh (its originals are marked for it). Records that no longer map
 * to this part are stale copies left by a split that a crash interrupted: the part they map to now
 * holds them.
 */
export function loadPart(s: JobState, part: number, c: PartCode | null): void {
  const totals = emptyTotals();
  for (const code of c?.originals ?? []) {
    if (partOf(code[0], s.partCount) !== part) continue;
    const original = decodeOriginal(code);
    s.originals.set(original.id, original);
    s.dirtyOriginals.add(original);
    addOriginal(totals, original, 1);
  }
  s.partTotals.set(part, totals);
}

/**
 * Grows the collection of originals by one part: `s.partCount` becomes n+1 and the loaded
 * originals of part `splitSource(n)` that now map to part n move their share of the summary with
 * them. The source part must be loaded; `candidates` (its originals, if the caller knows them)
 * saves a pass over every loaded original.
 */
export function growOriginals(s: JobState, candidates: Iterable<OriginalState> = s.originals.values()): { source: number; target: number } {
  const target = s.partCount;
  const source = splitSource(target);
  if (!s.partTotals.has(source) || (groupOf(target) > 0 && s.partTotals.has(-groupOf(target)))) throw new Error(`job ${s.jobId}: part ${source} and the group of part ${target} must be loaded to split`);
  s.partCount++;
  const from = s.partTotals.get(source) ?? emptyTotals();
  const to = emptyTotals();
  for (const original of candidates) {
    if (partOf(original.id, s.partCount) !== target) continue;
    addOriginal(from, original, -1);
    addOriginal(to, original, 1);
  }
  s.partTotals.set(source, from);
  s.partTotals.set(target, to);
  return { source, target };
}

// ---------------------------------------------------------------- label buckets and their tasks

export interface LabelBucketCode {
  f: number;
  /** Label keys, in order of arrival. */
  labels: string[];
  parts: number;
  /** Per task part: [label index, Σ added, Σ done] of its labels. */
  sums: [number, [number, number, number][]][];
}

/** What an absent label bucket means. */
export function encodeEmptyBucket(): LabelBucketCode {
  return { f: FORMAT, labels: [], parts: 1, sums: [] };
}

export function encodeBucket(s: JobState, index: number): LabelBucketCode {
  const bucket = s.labelBuckets.get(index) ?? emptyBucket();
  const labels = [...bucket.labels.keys()];
  const position = new Map(labels.map((key, i) => [key, i]));
  const sums: LabelBucketCode["sums"] = [];
  for (const [part, partSums] of [...bucket.taskSums].sort((a, b) => a[0] - b[0])) {
    const entries: [number, number, number][] = [];
    for (const [labelKey, sum] of partSums) if (sum.added !== 0 || sum.done !== 0) entries.push([position.get(labelKey)!, sum.added, sum.done]);
    if (entries.length > 0) sums.push([part, entries]);
  }
  return { f: FORMAT, labels, parts: bucket.taskPartCount, sums };
}

export function loadBucket(s: JobState, index: number, c: LabelBucketCode | null): void {
  s.labelBucketTotals.delete(index);
  const bucket = emptyBucket();
  if (c !== null) {
    for (const key of c.labels) bucket.labels.set(key, key === "" ? null : key.slice(1));
    bucket.taskPartCount = c.parts;
    for (const [part, entries] of c.sums) {
      const partSums: LabelSums = new Map();
      for (const [position, added, done] of entries) partSums.set(c.labels[position]!, { added, done });
      bucket.taskSums.set(part, partSums);
    }
  }
  s.labelBuckets.set(index, bucket);
}

/** The last entry, only on a task's attempt index: its mirrors, `[label, attempt, added, done]`. */
type TaskCode = [string, number, number, number, number, number, string[], [string, number, number, number][]?];

export interface TaskPartCode {
  f: number;
  tasks: TaskCode[];
}

export function bucketOfTask(key: string): number {
  return labelBucketOf(labelKeyOfTask(key));
}

/** The given parts of one label bucket's tasks, encoded, in one pass over the loaded tasks. */
export function encodeTaskParts(
  s: JobState,
  index: number,
  parts: Iterable<number>,
  tasks: Iterable<[string, TaskTally]> = s.tasks,
): Map<number, TaskPartCode> {
  const encoded = new Map<number, TaskPartCode>();
  for (const part of parts) encoded.set(part, { f: FORMAT, tasks: [] });
  const partCount = s.labelBuckets.get(index)?.taskPartCount ?? 1;
  for (const [key, t] of tasks) {
    if (bucketOfTask(key) !== index) continue;
    const code: TaskCode = [key, t.attempt, t.added, t.done, t.reportedAdded, t.reportedDone, [...t.seen]];
    if (t.mirrors !== undefined) code.push([...t.mirrors].map(([label, m]): [string, number, number, number] => [label, m.attempt, m.added, m.done]));
    encoded.get(partOf(key, partCount))?.tasks.push(code);
  }
  return encoded;
}

/** Adds a stored part of a (loaded) label bucket's tasks; the bucket's copy of its sums is rebuilt from its tasks. */
export function loadTaskPart(s: JobState, index: number, part: number, c: TaskPartCode | null): void {
  const bucket = s.labelBuckets.get(index)!;
  const sums = new Map<number, LabelSums>();
  sums.set(part, new Map());
  for (const [key, attempt, added, done, reportedAdded, reportedDone, seen, mirrors] of c?.tasks ?? []) {
    if (partOf(key, bucket.taskPartCount) !== part) continue; // a stale copy left by an interrupted split
    const task: TaskTally = { attempt, added, done, reportedAdded, reportedDone, seen: new Set(seen) };
    if (mirrors !== undefined) task.mirrors = new Map(mirrors.map(([label, a, ad, d]) => [label, { attempt: a, added: ad, done: d }]));
    s.tasks.set(key, task);
    const contribution = contributionOf(key, task);
    const sum = sumOf(sums, part, contribution.labelKey);
    sum.added += contribution.added;
    sum.done += contribution.done;
  }
  bucket.taskSums.set(part, sums.get(part)!);
}

/** Grows a label bucket's task collection by one part, moving the share of the tasks that move (`candidates`: the source part's tasks, if known). */
export function growTasks(s: JobState, index: number, candidates: Iterable<[string, TaskTally]> = s.tasks): { source: number; target: number } {
  const bucket = s.labelBuckets.get(index)!;
  const target = bucket.taskPartCount;
  const source = splitSource(target);
  bucket.taskPartCount++;
  for (const [key, task] of candidates) {
    if (bucketOfTask(key) !== index || partOf(key, bucket.taskPartCount) !== target) continue;
    const contribution = contributionOf(key, task);
    const from = sumOf(bucket.taskSums, source, contribution.labelKey);
    const to = sumOf(bucket.taskSums, target, contribution.labelKey);
    from.added -= contribution.added;
    from.done -= contribution.done;
    to.added += contribution.added;
    to.done += contribution.done;
  }
  if (!bucket.taskSums.has(target)) bucket.taskSums.set(target, new Map());
  return { source, target };
}

// ---------------------------------------------------------------- after a load

/**
 * Recomputes what storage never keeps for the records just loaded (each record's estimate and
 * work left, its part's sums, the job-level estimate), under the plan the head has now: a store
 * calls it once it has loaded the items it wanted, before it reads or writes a figure.
 */
export function completeLoad(state: JobState): void {
  refreshEstimates(state);
}
