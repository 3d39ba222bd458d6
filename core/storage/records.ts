/**
 * The pieces every stored item is made of, as compact JSON-safe tuples: stamps, executions,
 * originals, declared values and the summaries' totals. Tuples rather than objects because a
 * DynamoDB write is charged on the whole item: attribute names repeated per execution would
 * dominate the bill. Decoding trusts its input (it is our own output).
 */
import { allExecutions, putExecution, type Execution, type Executions, type ExecutionStatus, type ProgressReport } from "../estimator/executions.ts";
import type { JobPartSummary } from "../estimator/job-executions.ts";
import { EMPTY_ESTIMATE, emptyStepLeft, emptyWorkLeft, NO_WORK_LEFT, STEP_LEFT_FIELDS, type Declared, type JobState, type OriginalState, type Stamp, type Totals } from "../estimator/state.ts";

/** The format of every item, in its `f`. */
export const FORMAT = 2;

export type StampCode = [number, string];
export type ReportCode = [number, string, number, number | null, number, string | null, [number, number] | null, string | null];
/**
 * The last two entries are the ETA's and left out while unknown: while it runs, the time of its
 * first report (in ms before its winning report's, or as a time without one); once finished, its
 * duration in ms.
 */
export type ExecutionCode = [string, string, string | null, number, ExecutionStatus, ReportCode | null, number, (string | null)[] | null, string | null, string | null, (number | null)?, number?];
/**
 * The last four entries (is an original; links of its executions to originals; form field; its
 * size in bytes, for the ETA) are left out when they are 1, none, none and unknown.
 */
export type OriginalCode = [string, string | null, "upload" | "import" | null, string | null, StampCode | null, 0 | 1, ExecutionCode[], number, (0 | 1)?, ([string, string][] | null)?, (string | null)?, number?];

export const stamp = (value: Stamp | null): StampCode | null => (value === null ? null : [value.atMs, value.eventId]);
export const unstamp = (code: StampCode | null): Stamp | null => (code === null ? null : { atMs: code[0], eventId: code[1] });

export function encodeExecution(e: Execution): ExecutionCode {
  const r = e.report;
  const report: ReportCode | null = r === null ? null : [r.atMs, r.eventId, r.current, r.total, r.fraction, r.unit, r.stepIndex, r.message];
  const code: ExecutionCode = [e.step, e.inputId, e.originalId, e.attempt, e.status, report, e.resultCount, e.resultMimes, e.error, e.decidedBy];
  if (e.firstAtMs !== null || e.durationMs !== null) code.push(e.firstAtMs === null ? null : r === null ? e.firstAtMs : r.atMs - e.firstAtMs);
  if (e.durationMs !== null) code.push(e.durationMs);
  return code;
}

export function decodeExecution(c: ExecutionCode): Execution {
  const r = c[5];
  const report: ProgressReport | null =
    r === null ? null : { atMs: r[0], eventId: r[1], current: r[2], total: r[3], fraction: r[4], unit: r[5], stepIndex: r[6], message: r[7] };
  const first = c[10] ?? null;
  const firstAtMs = first === null ? null : report === null ? first : report.atMs - first;
  return { step: c[0], inputId: c[1], originalId: c[2], attempt: c[3], status: c[4], report, resultCount: c[6], resultMimes: c[7], error: c[8], decidedBy: c[9], firstAtMs, durationMs: c[11] ?? null };
}

/** Job-level executions as older heads kept them (with the key they had when one map held them). */
export function decodeExecutions(codes: [string, ExecutionCode][]): Executions {
  const executions: Executions = new Map();
  for (const [, code] of codes) putExecution(executions, decodeExecution(code));
  return executions;
}

/**
 * An execution's `input_id` and `original_id` are most often the id of the original that holds
 * it: stored as 0 then, which makes a part of finished originals about a quarter smaller once
 * deflated (bench/pipeline.ts: WCU per event).
 */
export const SAME_AS_ORIGINAL = 0;

export function encodeOriginal(o: OriginalState): OriginalCode {
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

export function decodeOriginal(c: OriginalCode): OriginalState {
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

export const declared = <T>(d: Declared<T> | null): [T, StampCode] | null => (d === null ? null : [d.value, [d.stamp.atMs, d.stamp.eventId]]);
export const undeclared = <T>(c: [T, StampCode] | null): Declared<T> | null => (c === null ? null : { value: c[0], stamp: unstamp(c[1])! });



/** The work left as the ETA sees it: [open, Σ their first reports' times, per step [name, ...STEP_LEFT_FIELDS], files of known size, Σ their bytes, Σ bytes²] (the last three left out when 0). */
export type WorkLeftCode = [number, number, [string, ...number[]][], number?, number?, number?];
/** The last entries (loose work and loose done; the work left) are left out when they are 0 and none. */
export type TotalsCode = [number, number, number, number, number, number, number, number?, number?, WorkLeftCode?];

/**
 * Sums of times (Σ first reports' times, Σ latest reports' times) are written less `count × base`,
 * with the base written once in the item: 17 digits become a few, in items that copy hundreds of
 * summaries.
 */
export function totalsCode(key: number, t: Totals, base: number): TotalsCode {
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

export function totalsOfCode(c: TotalsCode, base: number): Totals {
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
export const timeBaseOf = (s: JobState) => s.eta.startMs ?? 0;

// ---------------------------------------------------------------- summaries of job parts (core/estimator/job-executions.ts)

/** [part, executions, [step, completed, failed, in flight, Σ fractions, [mime, count][]][]] */
export type JobSummaryCode = [number, number, [string, number, number, number, number, [string, number][]][]];

export function summaryCode(part: number, summary: JobPartSummary): JobSummaryCode {
  return [part, summary.executions, [...summary.steps].map(([step, t]) => [step, t.completed, t.failed, t.inFlight, t.fractionSum, [...t.results]])];
}

export function summaryOfCode(code: JobSummaryCode): JobPartSummary {
  return { executions: code[1], steps: new Map(code[2].map(([step, completed, failed, inFlight, fractionSum, results]) => [step, { completed, failed, inFlight, fractionSum, results: new Map(results) }])) };
}
