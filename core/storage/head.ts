/**
 * A job's head as stored: its declaration, flags, job-level summaries, copies of its groups' and
 * label buckets' sums, the ETA's state and the progress history; versioned by `f`.
 */
import type { Plan } from "../contract/plan.ts";
import { decodeEta, encodeEta, type EtaCode } from "../estimator/eta.ts";
import { EMPTY_HISTORY, type History, type HistoryPoint } from "../estimator/history.ts";
import { jobPartSummaries } from "../estimator/job-executions.ts";
import { setCompiledPlan } from "../estimator/fold.ts";
import { labelsIn } from "../estimator/indicators.ts";
import { GROUP_PARTS, groupOf } from "../estimator/partition.ts";
import { addTotals, createJobState, emptyTotals, type JobState, type LabelSums, type Totals } from "../estimator/state.ts";
import { FORMAT, type StampCode, type ExecutionCode, stamp, unstamp, decodeExecutions, declared, undeclared, type TotalsCode, totalsCode, totalsOfCode, timeBaseOf, type JobSummaryCode, summaryCode, summaryOfCode } from "./records.ts";

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
