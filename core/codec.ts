/**
 * Compact, JSON-safe encodings of the state's pieces for storage: the head, a part of originals,
 * a part of indicator tasks. Executions and originals are tuples rather than objects because a
 * DynamoDB write is charged on the whole item: attribute names repeated per execution would
 * dominate the bill. Decoding trusts its input (it is our own output); versioned by `f`.
 */
import type { Plan } from "./contract.ts";
import { decodeEta, encodeEta, type EtaCode } from "./eta.ts";
import { setCompiledPlan } from "./fold.ts";
import { partOf } from "./partition.ts";
import {
  createJobState,
  EMPTY_ESTIMATE,
  emptyTotals,
  type Declared,
  type Execution,
  type ExecutionStatus,
  type JobState,
  type LabelSums,
  type OriginalState,
  type ProgressReport,
  type Stamp,
  type TaskTally,
} from "./state.ts";

const FORMAT = 1;

type StampCode = [number, string];
type ReportCode = [number, string, number, number | null, number, string | null, [number, number] | null, string | null];
type ExecutionCode = [string, string, string | null, number, ExecutionStatus, ReportCode | null, number, (string | null)[] | null, string | null, string | null];
/** The last two entries (is an original; links of its executions to originals) are left out when they are 1 and none. */
type OriginalCode = [string, string | null, "upload" | "import" | null, string | null, StampCode | null, 0 | 1, ExecutionCode[], number, (0 | 1)?, [string, string][]?];

const stamp = (value: Stamp | null): StampCode | null => (value === null ? null : [value.atMs, value.eventId]);
const unstamp = (code: StampCode | null): Stamp | null => (code === null ? null : { atMs: code[0], eventId: code[1] });

function encodeExecution(e: Execution): ExecutionCode {
  const r = e.report;
  const report: ReportCode | null = r === null ? null : [r.atMs, r.eventId, r.current, r.total, r.fraction, r.unit, r.stepIndex, r.message];
  return [e.step, e.inputId, e.originalId, e.attempt, e.status, report, e.resultCount, e.resultMimes, e.error, e.decidedBy];
}

function decodeExecution(c: ExecutionCode): Execution {
  const r = c[5];
  const report: ProgressReport | null =
    r === null ? null : { atMs: r[0], eventId: r[1], current: r[2], total: r[3], fraction: r[4], unit: r[5], stepIndex: r[6], message: r[7] };
  return { step: c[0], inputId: c[1], originalId: c[2], attempt: c[3], status: c[4], report, resultCount: c[6], resultMimes: c[7], error: c[8], decidedBy: c[9] };
}

function encodeExecutions(executions: Map<string, Execution>): [string, ExecutionCode][] {
  return [...executions].map(([key, execution]) => [key, encodeExecution(execution)]);
}

function decodeExecutions(codes: [string, ExecutionCode][]): Map<string, Execution> {
  return new Map(codes.map(([key, code]) => [key, decodeExecution(code)]));
}

function encodeOriginal(o: OriginalState): OriginalCode {
  const code: OriginalCode = [o.id, o.mime, o.source, o.via, stamp(o.stamp), o.isDeclared ? 1 : 0, [...o.executions.values()].map(encodeExecution), o.displayed];
  if (!o.isOriginal || o.links !== null) code.push(o.isOriginal ? 1 : 0);
  if (o.links !== null) code.push([...o.links]);
  return code;
}

function decodeOriginal(c: OriginalCode): OriginalState {
  const executions = new Map<string, Execution>();
  for (const code of c[6]) {
    const execution = decodeExecution(code);
    executions.set(`${execution.step}\u0000${execution.inputId}`, execution);
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
    links: c[9] === undefined ? null : new Map(c[9]),
    estimate: EMPTY_ESTIMATE,
    displayed: c[7],
  };
}

const declared = <T>(d: Declared<T> | null): [T, StampCode] | null => (d === null ? null : [d.value, [d.stamp.atMs, d.stamp.eventId]]);
const undeclared = <T>(c: [T, StampCode] | null): Declared<T> | null => (c === null ? null : { value: c[0], stamp: unstamp(c[1])! });

// ---------------------------------------------------------------- head

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
  jobExecutions: [string, ExecutionCode][];
  parts: number;
  partTotals: [number, number, number, number, number, number, number][];
  taskParts: number;
  labels: [string, string | null][];
  taskSums: [number, [string, number, number][]][];
  displayed: number;
  eta: EtaCode;
  version: number;
  updatedAt: number | null;
}

export function encodeHead(s: JobState): HeadCode {
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
    jobExecutions: encodeExecutions(s.jobExecutions),
    parts: s.partCount,
    partTotals: [...s.partTotals].map(([part, t]) => [part, t.work, t.done, t.unavailable, t.unfinished, t.originals, t.declared]),
    taskParts: s.taskPartCount,
    labels: [...s.labels],
    taskSums: [...s.taskSums].map(([part, sums]) => [part, [...sums].map(([label, sum]): [string, number, number] => [label, sum.added, sum.done])]),
    displayed: s.displayedCombined,
    eta: encodeEta(s.eta),
    version: s.version,
    updatedAt: s.updatedAtMs,
  };
}

/** A state with the head's contents and no originals or tasks loaded. */
export function decodeHead(c: HeadCode): JobState {
  const s = createJobState(c.job, { partCount: c.parts, taskPartCount: c.taskParts });
  s.plan = undeclared(c.plan);
  s.expectOriginals = undeclared(c.expect);
  s.emitExecutionProgress = undeclared(c.emit);
  s.notifyUrl = undeclared(c.notify);
  s.notifyMilestones = undeclared(c.milestones ?? null);
  s.seal = undeclared(c.seal);
  s.terminal = c.terminal === null ? null : { status: c.terminal[0] as "completed" | "failed" | "cancelled", stamp: unstamp(c.terminal[1])!, error: c.terminal[2] };
  s.hasWork = c.work === 1;
  s.jobExecutions = decodeExecutions(c.jobExecutions);
  s.isJobBucketDirty = true;
  s.partTotals = new Map(c.partTotals.map(([part, work, done, unavailable, unfinished, originals, declared]) => [part, { work, done, unavailable, unfinished, originals, declared }]));
  s.labels = new Map(c.labels);
  s.taskSums = new Map(c.taskSums.map(([part, sums]) => [part, new Map(sums.map(([label, added, done]) => [label, { added, done }]))]));
  s.displayedCombined = c.displayed;
  s.eta = decodeEta(c.eta);
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

// ---------------------------------------------------------------- parts

/** A part holds contents only: its summary is recomputed from them whenever it is loaded. */
export interface PartCode {
  f: number;
  originals: OriginalCode[];
}

/** The given parts of originals, encoded; one pass over the loaded originals whatever the number of parts. */
export function encodeParts(s: JobState, parts: readonly number[]): Map<number, PartCode> {
  const encoded = new Map<number, PartCode>();
  for (const part of parts) encoded.set(part, { f: FORMAT, originals: [] });
  for (const original of s.originals.values()) encoded.get(partOf(original.id, s.partCount))?.originals.push(encodeOriginal(original));
  return encoded;
}

/**
 * Adds a stored part to a state. Its summary in the head is replaced by one rebuilt from its
 * contents: counts now, estimates at the next commit (its originals are marked for it).
 */
export function loadPart(s: JobState, part: number, c: PartCode): void {
  const totals = emptyTotals();
  for (const code of c.originals) {
    const original = decodeOriginal(code);
    s.originals.set(original.id, original);
    s.dirtyOriginals.add(original);
    if (original.isOriginal) totals.originals++;
    if (original.isDeclared) totals.declared++;
  }
  s.partTotals.set(part, totals);
}

export interface TaskPartCode {
  f: number;
  tasks: [string, number, number, number, string[]][];
}

/** The given parts of indicator tasks, encoded, in one pass over the loaded tasks. */
export function encodeTaskParts(s: JobState, parts: readonly number[]): Map<number, TaskPartCode> {
  const encoded = new Map<number, TaskPartCode>();
  for (const part of parts) encoded.set(part, { f: FORMAT, tasks: [] });
  for (const [key, task] of s.tasks) encoded.get(partOf(key, s.taskPartCount))?.tasks.push([key, task.attempt, task.added, task.done, [...task.seen]]);
  return encoded;
}

/** Adds a stored part of tasks to a state; its label sums in the head are rebuilt from its tasks. */
export function loadTaskPart(s: JobState, part: number, c: TaskPartCode): void {
  const sums: LabelSums = new Map();
  for (const [key, attempt, added, done, seen] of c.tasks) {
    const task: TaskTally = { attempt, added, done, seen: new Set(seen) };
    s.tasks.set(key, task);
    const labelKey = key.slice(0, key.indexOf("\u0000"));
    const sum = sums.get(labelKey) ?? { added: 0, done: 0 };
    sum.added += added;
    sum.done += done;
    sums.set(labelKey, sum);
  }
  s.taskSums.set(part, sums);
}
