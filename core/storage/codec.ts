/**
 * Compact, JSON-safe encodings of the state's pieces for storage (the layout: core/estimator/partition.ts):
 * the head, a part of originals, a group of part summaries, a label bucket, a part of indicator
 * tasks, a job part of job-level executions; and the moves a store makes when a collection grows
 * by one part. Executions and originals are tuples rather than objects because a
 * DynamoDB write is charged on the whole item: attribute names repeated per execution would
 * dominate the bill. Decoding trusts its input (it is our own output); versioned by `f`.
 */
import type { Plan } from "../contract/plan.ts";
import { decodeEta, encodeEta, type EtaCode } from "../estimator/eta.ts";
import { EMPTY_HISTORY, type History, type HistoryPoint } from "../estimator/history.ts";
import { allExecutions, putExecution, type Executions } from "../estimator/executions.ts";
import { jobPartSummaries, loadedByPart, loadJobExecutions, type JobPartSummary } from "../estimator/job-executions.ts";
import { setCompiledPlan } from "../estimator/fold.ts";
import { refreshEstimates } from "../estimator/progress.ts";
import { contributionOf, emptyBucket, labelKeyOfTask, labelsIn, sumOf } from "../estimator/indicators.ts";
import { GROUP_PARTS, groupOf, labelBucketOf, partOf, splitSource } from "../estimator/partition.ts";
import { addTotals, addWorkLeft, createJobState, EMPTY_ESTIMATE, emptyStepLeft, emptyTotals, emptyWorkLeft, NO_WORK_LEFT, STEP_LEFT_FIELDS, type Declared, type JobState, type LabelSums, type OriginalState, type Stamp, type TaskTally, type Totals } from "../estimator/state.ts";
import { type Execution, type ExecutionStatus, type ProgressReport } from "../estimator/executions.ts";

const FORMAT = 2;

type StampCode = [number, string];
type ReportCode = [number, string, number, number | null, number, string | null, [number, number] | null, string | null];
/**
 * The last two entries are the ETA's and left out while unknown: while it runs, the time of its
 * first report (in ms before its winning report's, or as a time without one); once finished, its
 * duration in ms.
 */
type ExecutionCode = [string, string, string | null, number, ExecutionStatus, ReportCode | null, number, (string | null)[] | null, string | null, string | null, (number | null)?, number?];
/**
 * The last four entries (is an original; links of its executions to originals; form field; its
 * size in bytes, for the ETA) are left out when they are 1, none, none and unknown.
 */
type OriginalCode = [string, string | null, "upload" | "import" | null, string | null, StampCode | null, 0 | 1, ExecutionCode[], number, (0 | 1)?, ([string, string][] | null)?, (string | null)?, number?];

const stamp = (value: Stamp | null): StampCode | null => (value === null ? null : [value.atMs, value.eventId]);
const unstamp = (code: StampCode | null): Stamp | null => (code === null ? null : { atMs: code[0], eventId: code[1] });

function encodeExecution(e: Execution): ExecutionCode {
  const r = e.report;
  const report: ReportCode | null = r === null ? null : [r.atMs, r.eventId, r.current, r.total, r.fraction, r.unit, r.stepIndex, r.message];
  const code: ExecutionCode = [e.step, e.inputId, e.originalId, e.attempt, e.status, report, e.resultCount, e.resultMimes, e.error, e.decidedBy];
  if (e.firstAtMs !== null || e.durationMs !== null) code.push(e.firstAtMs === null ? null : r === null ? e.firstAtMs : r.atMs - e.firstAtMs);
  if (e.durationMs !== null) code.push(e.durationMs);
  return code;
}

function decodeExecution(c: ExecutionCode): Execution {
  const r = c[5];
  const report: ProgressReport | null =
    r === null ? null : { atMs: r[0], eventId: r[1], current: r[2], total: r[3], fraction: r[4], unit: r[5], stepIndex: r[6], message: r[7] };
  const first = c[10] ?? null;
  const firstAtMs = first === null ? null : report === null ? first : report.atMs - first;
  return { step: c[0], inputId: c[1], originalId: c[2], attempt: c[3], status: c[4], report, resultCount: c[6], resultMimes: c[7], error: c[8], decidedBy: c[9], firstAtMs, durationMs: c[11] ?? null };
}

/** Job-level executions as older heads kept them (with the key they had when one map held them). */
function decodeExecutions(codes: [string, ExecutionCode][]): Executions {
  const executions: Executions = new Map();
  for (const [, code] of codes) putExecution(executions, decodeExecution(code));
  return executions;
}

/**
 * An execution's `input_id` and `original_id` are most often the id of the original that holds
 * it: stored as 0 then, which makes a part of finished originals about a quarter smaller once
 * deflated (bench/pipeline.ts: WCU per event).
 */
const SAME_AS_ORIGINAL = 0;

function encodeOriginal(o: OriginalState): OriginalCode {
  const executions = [...allExecutions(o.executions)].map((execution) => {
    const code = encodeExecution(execution);
    if (code[1] === o.id) code[1] = SAME_AS_ORIGINAL as unknown as string;
    if (code[2] === o.id) code[2] = SAME_AS_ORIGINAL as unknown as string;
    return code;
  });
  const code: OriginalCode = [o.id, o.mime, o.source, o.via, stamp(o.stamp), o.isDeclared ? 1 : 0, executions, o.displayed];
  const hasSize = o.sizeBytes !== null;
  if (!o.isOriginal || o.links !== null || o.field !== null || hasSize) code.push(o.isOriginal ? 1 : 0);
  if (o.links !== null || o.field !== null || hasSize) code.push(o.links === null ? null : [...o.links]);
  if (o.field !== null || hasSize) code.push(o.field);
  if (hasSize) code.push(o.sizeBytes!);
  return code;
}

function decodeOriginal(c: OriginalCode): OriginalState {
  const executions: Executions = new Map();
  for (const code of c[6]) {
    if ((code[1] as unknown) === SAME_AS_ORIGINAL) code[1] = c[0];
    if ((code[2] as unknown) === SAME_AS_ORIGINAL) code[2] = c[0];
    putExecution(executions, decodeExecution(code));
  }
  // The estimate is not stored: it is recomputed on load, under the plan the head has now.
  return {
    id: c[0],
    isOriginal: c[8] !== 0,
    mime: c[1],
    source: c[2],
    via: c[3],
    stamp: unstamp(c[4]),
    isDeclared: c[5] === 1,
    executions,
    links: c[9] === undefined || c[9] === null ? null : new Map(c[9]),
    field: c[10] ?? null,
    estimate: EMPTY_ESTIMATE,
    displayed: c[7],
    sizeBytes: c[11] ?? null,
    left: NO_WORK_LEFT,
  };
}

const declared = <T>(d: Declared<T> | null): [T, StampCode] | null => (d === null ? null : [d.value, [d.stamp.atMs, d.stamp.eventId]]);
const undeclared = <T>(c: [T, StampCode] | null): Declared<T> | null => (c === null ? null : { value: c[0], stamp: unstamp(c[1])! });


// ---------------------------------------------------------------- head

/** The work left as the ETA sees it: [open, Σ their first reports' times, per step [name, ...STEP_LEFT_FIELDS], files of known size, Σ their bytes, Σ bytes²] (the last three left out when 0). */
type WorkLeftCode = [number, number, [string, ...number[]][], number?, number?, number?];
/** The last entries (loose work and loose done; the work left) are left out when they are 0 and none. */
type TotalsCode = [number, number, number, number, number, number, number, number?, number?, WorkLeftCode?];

/**
 * Sums of times (Σ first reports' times, Σ latest reports' times) are written less `count × base`,
 * with the base written once in the item: 17 digits become a few, in items that copy hundreds of
 * summaries.
 */
function totalsCode(key: number, t: Totals, base: number): TotalsCode {
  const code: TotalsCode = [key, t.work, t.done, t.unavailable, t.unfinished, t.originals, t.declared];
  const { open, openSinceMs, steps, sizedFiles, sizedFileBytes, sizedFileSquares } = t.left;
  const hasWorkLeft = open !== 0 || steps.size > 0 || sizedFiles !== 0;
  if (t.looseWork !== 0 || t.looseDone !== 0 || hasWorkLeft) code.push(t.looseWork, t.looseDone);
  if (!hasWorkLeft) return code;
  const stepCodes = [...steps].map(([step, l]): [string, ...number[]] => [step, ...STEP_LEFT_FIELDS.map((field) => (field === "runningAtMs" ? l.runningAtMs - l.running * base : l[field]))]);
  const leftCode: WorkLeftCode = [open, openSinceMs - open * base, stepCodes];
  if (sizedFiles !== 0) leftCode.push(sizedFiles, sizedFileBytes, sizedFileSquares);
  code.push(leftCode);
  return code;
}

function totalsOfCode(c: TotalsCode, base: number): Totals {
  const left = emptyWorkLeft();
  if (c[9] !== undefined) {
    const [open, openSinceMs, steps, sizedFiles, sizedFileBytes, sizedFileSquares] = c[9];
    left.open = open;
    left.openSinceMs = openSinceMs + open * base;
    left.sizedFiles = sizedFiles ?? 0;
    left.sizedFileBytes = sizedFileBytes ?? 0;
    left.sizedFileSquares = sizedFileSquares ?? 0;
    for (const [step, ...values] of steps) {
      const entry = emptyStepLeft();
      STEP_LEFT_FIELDS.forEach((field, index) => (entry[field] = values[index] ?? 0));
      entry.runningAtMs += entry.running * base;
      left.steps.set(step, entry);
    }
  }
  return { work: c[1], done: c[2], unavailable: c[3], unfinished: c[4], originals: c[5], declared: c[6], looseWork: c[7] ?? 0, looseDone: c[8] ?? 0, left };
}

/** The base of an item's sums of times: about when the job's work began. */
const timeBaseOf = (s: JobState) => s.eta.startMs ?? 0;

export interface HeadCode {
  f: number;
  job: string;
  plan: [Plan, StampCode] | null;
  expect: [number | "unknown", StampCode] | null;
  emit: [boolean, StampCode] | null;
  notify: [string, StampCode] | null;
  milestones?: [number[], StampCode] | null;
  seal: [number | null, StampCode] | null;
  terminal: [string, StampCode, string | null] | null;
  work: 0 | 1;
  /** Job-level executions, kept in the head by releases before job parts: read (as job part 0, loaded), never written. */
  jobExecutions?: [string, ExecutionCode][];
  /** How many job parts, and each one's summary copy. */
  jobParts?: number;
  jobSummaries?: JobSummaryCode[];
  parts: number;
  /** Summary copies of the parts below GROUP_PARTS. */
  partTotals: TotalsCode[];
  /** Summary copies of the groups (≥ 1) of further parts, each the sum of its parts. */
  groupTotals: TotalsCode[];
  /** The base of the copies' sums of times (see totalsCode). */
  timeBase?: number;
  /** Per label bucket: its number of labels, Σ added, Σ done. */
  buckets: [number, number, number, number][];
  displayed: number;
  eta: EtaCode;
  /** The progress history (history.ts): absent while empty. */
  history?: HistoryCode;
  version: number;
  updatedAt: number | null;
}

/**
 * A history as numbers: the bucket width, the first point's time, then per point the ms since the
 * point before, the figure and the ETA in seconds (-1 for null). 120 points take about 1 KB of JSON.
 */
type HistoryCode = number[];

function encodeHistory(history: History): HistoryCode | undefined {
  if (history.points.length === 0) return undefined;
  const code: HistoryCode = [history.bucketMs, history.points[0]!.atMs];
  let previousMs = history.points[0]!.atMs;
  for (const point of history.points) {
    code.push(point.atMs - previousMs, point.progress ?? -1, point.etaSeconds ?? -1);
    previousMs = point.atMs;
  }
  return code;
}

function decodeHistory(code: HistoryCode | undefined): History {
  if (code === undefined) return EMPTY_HISTORY;
  const points: HistoryPoint[] = [];
  let atMs = code[1]!;
  for (let i = 2; i + 2 < code.length; i += 3) {
    atMs += code[i]!;
    points.push({ atMs, progress: code[i + 1] === -1 ? null : code[i + 1]!, etaSeconds: code[i + 2] === -1 ? null : code[i + 2]! });
  }
  return { bucketMs: code[0]!, points };
}

/** The sum of each group's parts (groups ≥ 1), whether each entry is a live part or a copy. */
function groupSums(s: JobState): Map<number, Totals> {
  const sums = new Map<number, Totals>();
  for (const [key, totals] of s.partTotals) {
    const group = key < 0 ? -key : groupOf(key);
    if (group === 0) continue;
    let sum = sums.get(group);
    if (sum === undefined) sums.set(group, (sum = emptyTotals()));
    addTotals(sum, totals);
  }
  return sums;
}

export function bucketTotals(bucketLabels: number, sums: Iterable<LabelSums>): [number, number, number] {
  let added = 0;
  let done = 0;
  for (const partSums of sums) {
    for (const sum of partSums.values()) {
      added += sum.added;
      done += sum.done;
    }
  }
  return [bucketLabels, added, done];
}

export function encodeHead(s: JobState): HeadCode {
  const buckets: [number, number, number, number][] = [];
  for (const [index, bucket] of s.labelBuckets) if (bucket.labels.size > 0) buckets.push([index, ...bucketTotals(labelsIn(bucket), bucket.taskSums.values())]);
  for (const [index, t] of s.labelBucketTotals) buckets.push([index, t.labels, t.added, t.done]);
  buckets.sort((a, b) => a[0] - b[0]);
  return {
    f: FORMAT,
    job: s.jobId,
    plan: declared(s.plan),
    expect: declared(s.expectOriginals),
    emit: declared(s.emitExecutionProgress),
    notify: declared(s.notifyUrl),
    milestones: declared(s.notifyMilestones),
    seal: declared(s.seal),
    terminal: s.terminal === null ? null : [s.terminal.status, stamp(s.terminal.stamp)!, s.terminal.error],
    work: s.hasWork ? 1 : 0,
    jobParts: s.jobPartCount,
    jobSummaries: [...jobPartSummaries(s)].filter(([, summary]) => summary.executions > 0).sort((a, b) => a[0] - b[0]).map(([part, summary]) => summaryCode(part, summary)),
    parts: s.partCount,
    partTotals: [...s.partTotals].filter(([key]) => key >= 0 && key < GROUP_PARTS).map(([key, t]) => totalsCode(key, t, timeBaseOf(s))),
    groupTotals: [...groupSums(s)].sort((a, b) => a[0] - b[0]).map(([group, t]) => totalsCode(group, t, timeBaseOf(s))),
    timeBase: timeBaseOf(s),
    buckets,
    displayed: s.displayedCombined,
    eta: encodeEta(s.eta),
    history: encodeHistory(s.history),
    version: s.version,
    updatedAt: s.updatedAtMs,
  };
}

/** A state with the head's contents and no originals, groups, label buckets or tasks loaded. */
export function decodeHead(c: HeadCode): JobState {
  if (c.f !== FORMAT) throw new Error(`job ${c.job}: stored in format ${c.f}, this code reads ${FORMAT}`);
  const s = createJobState(c.job, { partCount: c.parts });
  s.plan = undeclared(c.plan);
  s.expectOriginals = undeclared(c.expect);
  s.emitExecutionProgress = undeclared(c.emit);
  s.notifyUrl = undeclared(c.notify);
  s.notifyMilestones = undeclared(c.milestones ?? null);
  s.seal = undeclared(c.seal);
  s.terminal = c.terminal === null ? null : { status: c.terminal[0] as "completed" | "failed" | "cancelled", stamp: unstamp(c.terminal[1])!, error: c.terminal[2] };
  s.hasWork = c.work === 1;
  s.jobPartCount = c.jobParts ?? 1;
  s.loadedJobParts = new Set();
  for (const code of c.jobSummaries ?? []) s.jobPartCopies.set(code[0], summaryOfCode(code));
  if (c.jobExecutions !== undefined) {
    // An older head holding its job-level executions: they are job part 0, loaded (the next save stores them there).
    s.jobExecutions = decodeExecutions(c.jobExecutions);
    s.loadedJobParts.add(0);
  }
  s.isJobBucketDirty = true;
  for (const code of c.partTotals) s.partTotals.set(code[0], totalsOfCode(code, c.timeBase ?? 0));
  for (const code of c.groupTotals) s.partTotals.set(-code[0], totalsOfCode(code, c.timeBase ?? 0));
  for (const [index, labels, added, done] of c.buckets) s.labelBucketTotals.set(index, { labels, added, done });
  s.displayedCombined = c.displayed;
  s.eta = decodeEta(c.eta);
  s.history = decodeHistory(c.history);
  s.version = c.version;
  s.updatedAtMs = c.updatedAt;
  if (s.plan !== null) compileWithoutRehoming(s);
  return s;
}

function compileWithoutRehoming(s: JobState): void {
  // Nothing is loaded yet, so there is nothing to move between buckets; this only compiles
  // (and leaves the job-level estimate to be recomputed, as it is not stored).
  setCompiledPlan(s);
  s.isChanged = false;
}

// ---------------------------------------------------------------- job parts (core/estimator/job-executions.ts)

/** [part, executions, [step, completed, failed, in flight, Σ fractions, [mime, count][]][]] */
type JobSummaryCode = [number, number, [string, number, number, number, number, [string, number][]][]];

function summaryCode(part: number, summary: JobPartSummary): JobSummaryCode {
  return [part, summary.executions, [...summary.steps].map(([step, t]) => [step, t.completed, t.failed, t.inFlight, t.fractionSum, [...t.results]])];
}

function summaryOfCode(code: JobSummaryCode): JobPartSummary {
  return { executions: code[1], steps: new Map(code[2].map(([step, completed, failed, inFlight, fractionSum, results]) => [step, { completed, failed, inFlight, fractionSum, results: new Map(results) }])) };
}

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
