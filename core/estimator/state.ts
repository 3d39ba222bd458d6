/**
 * The estimator's state for one job. It is split the way storage splits it (core/estimator/partition.ts): a
 * small head (declaration, flags, summary copies) and collections of records
 * in parts: originals by `partOf(id, partCount)`, each carrying its cached estimate, and indicator
 * tasks by label bucket, then by `partOf(taskKey, bucket.taskPartCount)`, and job-level executions
 * by `jobPartOf` (core/estimator/job-executions.ts). A part's summary changes
 * only with its own contents, so a store can load just the parts a batch touches, write each back
 * as one item, and copy its summary up the tree (part → group or head; task part → label bucket →
 * head): every figure is then the sum of the parts' latest summaries, which heals itself if a
 * crash lands between two writes, because a loaded child always replaces its parent's copy.
 * Finished work stays as one small record per execution (needed to ignore late and duplicate
 * reports); nothing grows with the event count: a task attempt remembers at most
 * LIMITS.eventIdsPerTaskAttempt event ids.
 */
import type { Executions } from "./executions.ts";
import type { CompiledPlan } from "./plan.ts";
import type { JobStatus } from "../contract/snapshot.ts";
import type { Plan } from "../contract/plan.ts";
import { EMPTY_HISTORY, type History } from "./history.ts";

/** Last-writer-wins stamp: the producer's time, ties broken by event id. */
export interface Stamp {
  atMs: number;
  eventId: string;
}

export function isNewer(candidate: Stamp, current: Stamp | null): boolean {
  if (current === null) return true;
  if (candidate.atMs !== current.atMs) return candidate.atMs > current.atMs;
  return candidate.eventId > current.eventId;
}

/**
 * The estimate of one bucket of work: an original, the job-level executions, or the executions of
 * an input that no report has tied to an original yet ("loose" executions).
 */
export interface BucketEstimate {
  work: number;
  done: number;
  isAvailable: boolean;
  isFinished: boolean;
  isFailed: boolean;
  error: string | null;
  /**
   * The job bucket only: weighted executions it predicts on per-input steps (the later steps of
   * results that name no original) that no execution of its own accounts for. They are matched
   * with the loose executions of input records (progress.ts `combinedEstimate`), so they do not
   * make the bucket unfinished by themselves.
   */
  unreported: number;
  /**
   * A record of loose executions: their weighted count and how much of it is done. Kept apart
   * from `work` and `done`: loose executions only fill the job's `unreported` work, because an
   * execution of an original's derived file reported without its original is already predicted
   * for that original, and counting it twice would make the figure depend on report order.
   */
  looseWork: number;
  looseDone: number;
}

export const EMPTY_ESTIMATE: BucketEstimate = {
  work: 0,
  done: 0,
  isAvailable: true,
  isFinished: true,
  isFailed: false,
  error: null,
  unreported: 0,
  looseWork: 0,
  looseDone: 0,
};

/**
 * One record per id in the originals map. Most records are originals (files of the job); a record
 * that is not (`isOriginal` false) stands for an input id that step reports named without an
 * `original_id` and that is not (yet) known as an original: its executions are kept (attempts,
 * dedupe, the detail view) but count for nothing until some report ties them to their original. `links` remembers, per execution
 * key, the original a report tied that execution to, so later reports naming only the input
 * follow it there (docs/events.md: an execution is the pair (step, input_id)).
 */
export interface OriginalState {
  id: string;
  isOriginal: boolean;
  mime: string | null;
  source: "upload" | "import" | null;
  /** The form field it was uploaded through, when the producer named one (a `use` may select originals by it). */
  field: string | null;
  /** The source step (import) whose results include this original, when known. */
  via: string | null;
  stamp: Stamp | null;
  /** Listed in a `job.declared`'s `originals`. */
  isDeclared: boolean;
  executions: Executions;
  links: Map<string, string> | null;
  estimate: BucketEstimate;
  /** Highest percentage shown so far; -1 before the first. */
  displayed: number;
  /** The largest byte total its executions' reports carried (unit `Bytes`): the file's size, for the ETA. */
  sizeBytes: number | null;
  /** Derived, never stored (like `estimate`): the work it has left, for the ETA (core/estimator/eta.ts). */
  left: WorkLeft;
}

/** One attempt of one indicator task: the attempt's value is `reported* + added/done` (core/estimator/indicators.ts). */
export interface TaskTally {
  attempt: number;
  /** Sums of indicator.added / indicator.done amounts of this attempt, each event id counted once. */
  added: number;
  done: number;
  /** The largest running totals an indicator.reported of this attempt carried. */
  reportedAdded: number;
  reportedDone: number;
  /** Event ids of this attempt's deltas already counted (at most LIMITS.eventIdsPerTaskAttempt). */
  seen: Set<string>;
  /**
   * Only on a task's attempt index (core/estimator/indicators.ts `ATTEMPTS`, whose `attempt` is the task's
   * highest): per label (compact key) the attempt and values of the task's tally under it.
   */
  mirrors?: Map<string, LabelMirror>;
}

export interface LabelMirror {
  attempt: number;
  added: number;
  done: number;
}

/** Indicator sums of one task part, by label key. */
export type LabelSums = Map<string, { added: number; done: number }>;

/**
 * One label bucket (core/estimator/partition.ts LABEL_BUCKETS): its labels and the collection of their
 * tasks. `taskSums` holds, per task part, that part's label sums: live for a part loaded (rebuilt
 * from its tasks), and otherwise the copy the bucket's item keeps.
 */
export interface LabelBucket {
  /** Labels by key ("" is the unnamed label, "#name" a named one), in order of arrival. */
  labels: Map<string, string | null>;
  taskPartCount: number;
  taskSums: Map<number, LabelSums>;
}

/** What the head keeps of a label bucket it has not loaded. */
export interface BucketTotals {
  labels: number;
  added: number;
  done: number;
}

/**
 * A part's summary. Counts of originals live here, not in the head, because a part and its
 * summary are written together: a retried batch that finds its originals already stored must
 * not count them twice.
 */
export interface Totals {
  work: number;
  done: number;
  unavailable: number;
  unfinished: number;
  originals: number;
  declared: number;
  /** Loose executions (tied to no original): their weighted count and done work, apart from `work` and `done`. */
  looseWork: number;
  looseDone: number;
  /** The ETA's view of the part's work left (sums; core/estimator/eta.ts). */
  left: WorkLeft;
}

export function addTotals(into: Totals, t: Totals): void {
  into.work += t.work;
  into.done += t.done;
  into.unavailable += t.unavailable;
  into.unfinished += t.unfinished;
  into.originals += t.originals;
  into.declared += t.declared;
  into.looseWork += t.looseWork;
  into.looseDone += t.looseDone;
  addWorkLeft(into.left, t.left, 1);
}

export function emptyTotals(): Totals {
  return { work: 0, done: 0, unavailable: 0, unfinished: 0, originals: 0, declared: 0, looseWork: 0, looseDone: 0, left: emptyWorkLeft() };
}

/**
 * One step's executions left in a bucket of work, with what is known of their files' sizes, and
 * the progress its running executions made. All are sums of facts (counts, bytes, producer
 * milliseconds), never of learned figures, so that a part's copy is the same whenever and
 * wherever it was summed.
 * - `executions`: not finished; an execution in flight counts for the part it has left.
 * - `sizedExecutions`, `sizedBytes`: of those, the ones whose file's size in bytes is known, and
 *   Σ executions × that size.
 * - `timedExecutions`, `timedMs`: of the rest, the ones whose file has finished an execution, and
 *   Σ executions × that execution's duration.
 * - `runningMs`, `runningDone`: running executions with a known fraction: Σ time from their first
 *   report to their latest, and Σ fraction done; `runningSizedMs`, `runningSizedBytes`: the same
 *   for those whose file's size is known, in bytes done; `running`, `runningAtMs`: how many they
 *   are, and Σ their latest reports' times (they have gone on working since).
 * - `squares`, `sizedSquares`: Σ (part left)², and the same × the file's size² for those of known size.
 * - `pending`: the executions not finished, each counted whole (with `executions` and `squares`,
 *   how many are left and how unequal: the last of them ends later than the mean one).
 */
export const STEP_LEFT_FIELDS = ["executions", "sizedExecutions", "sizedBytes", "timedExecutions", "timedMs", "runningMs", "runningDone", "runningSizedMs", "runningSizedBytes", "running", "runningAtMs", "squares", "sizedSquares", "pending"] as const;
export type StepLeft = Record<(typeof STEP_LEFT_FIELDS)[number], number>;

export function emptyStepLeft(): StepLeft {
  return { executions: 0, sizedExecutions: 0, sizedBytes: 0, timedExecutions: 0, timedMs: 0, runningMs: 0, runningDone: 0, runningSizedMs: 0, runningSizedBytes: 0, running: 0, runningAtMs: 0, squares: 0, sizedSquares: 0, pending: 0 };
}

/** Work left in a bucket, part or job, for the ETA: per step, and the executions running now. */
export interface WorkLeft {
  steps: Map<string, StepLeft>;
  /** Executions begun and not finished, and the sum of their first reports' times. */
  open: number;
  openSinceMs: number;
  /**
   * Files whose size in bytes is known, finished or not, Σ their sizes and Σ sizes²: what a file
   * not started yet is expected to weigh, and how unequal files are (the finished ones alone would
   * favour the small files, which finish first).
   */
  sizedFiles: number;
  sizedFileBytes: number;
  sizedFileSquares: number;
}

export function emptyWorkLeft(): WorkLeft {
  return { steps: new Map(), open: 0, openSinceMs: 0, sizedFiles: 0, sizedFileBytes: 0, sizedFileSquares: 0 };
}

export const NO_WORK_LEFT: WorkLeft = emptyWorkLeft();

export function addWorkLeft(into: WorkLeft, left: WorkLeft, sign: 1 | -1): void {
  into.open += sign * left.open;
  into.openSinceMs += sign * left.openSinceMs;
  into.sizedFiles += sign * left.sizedFiles;
  into.sizedFileBytes += sign * left.sizedFileBytes;
  into.sizedFileSquares += sign * left.sizedFileSquares;
  for (const [step, add] of left.steps) {
    const sum = into.steps.get(step);
    if (sum === undefined) {
      if (sign === 1) into.steps.set(step, { ...add });
      else into.steps.set(step, addStepLeft(emptyStepLeft(), add, -1));
      continue;
    }
    addStepLeft(sum, add, sign);
    // Sums that cancel out leave no entry behind (so equal parts encode equally).
    if (Math.abs(sum.executions) < 1e-6 && Math.abs(sum.running) < 1e-6 && Math.abs(sum.runningDone) < 1e-6) into.steps.delete(step);
  }
}

/** Written out field by field: this runs twice for every file a batch touches. */
function addStepLeft(into: StepLeft, add: StepLeft, sign: 1 | -1): StepLeft {
  into.executions += sign * add.executions;
  into.sizedExecutions += sign * add.sizedExecutions;
  into.sizedBytes += sign * add.sizedBytes;
  into.timedExecutions += sign * add.timedExecutions;
  into.timedMs += sign * add.timedMs;
  into.runningMs += sign * add.runningMs;
  into.runningDone += sign * add.runningDone;
  into.runningSizedMs += sign * add.runningSizedMs;
  into.runningSizedBytes += sign * add.runningSizedBytes;
  into.running += sign * add.running;
  into.runningAtMs += sign * add.runningAtMs;
  into.squares += sign * add.squares;
  into.sizedSquares += sign * add.sizedSquares;
  into.pending += sign * add.pending;
  return into;
}

/** What the ETA has learned of one step from its finished executions (timed from their first attempt). */
export interface StepTiming {
  executions: number;
  totalMs: number;
  /** Σ duration²: how much the step's executions vary. */
  squaredMs: number;
  /** Of those, the ones whose file's size in bytes was known: their count, Σ ms and Σ bytes. */
  sizedExecutions: number;
  sizedMs: number;
  sizedBytes: number;
  /** Of those, the ones whose file had finished an earlier execution: their count, Σ ms and Σ of that earlier execution's ms. */
  timedExecutions: number;
  timedMs: number;
  earlierMs: number;
}

/** A job part's summary (core/estimator/job-executions.ts): how many executions it holds, and per step of the plan what they contribute. */
export interface JobPartSummary {
  executions: number;
  steps: Map<string, { completed: number; failed: number; inFlight: number; fractionSum: number; results: Map<string, number> }>;
}

/** What `core/estimator/eta.ts` keeps between commits; its doc says when `seconds` is null. */
export interface EtaState {
  /** Producer times of the job's first and latest work report (step or indicator event). */
  startMs: number | null;
  latestMs: number | null;
  /** Σ durations of finished executions: with the running ones, the job's busy time. */
  busyMs: number;
  /** Per step of the plan (bounded by the plan, not the job). */
  steps: Map<string, StepTiming>;
  seconds: number | null;
  /** The done fraction last seen, and the producer time at which it last grew. */
  lastFraction: number;
  grewMs: number | null;
}

export function emptyEta(): EtaState {
  return { startMs: null, latestMs: null, busyMs: 0, steps: new Map(), seconds: null, lastFraction: 0, grewMs: null };
}

export interface Terminal {
  status: Extract<JobStatus, "completed" | "failed" | "cancelled">;
  stamp: Stamp;
  error: string | null;
}

export interface Declared<T> {
  value: T;
  stamp: Stamp;
}

export interface JobState {
  jobId: string;
  plan: Declared<Plan> | null;
  expectOriginals: Declared<number | "unknown"> | null;
  emitExecutionProgress: Declared<boolean> | null;
  notifyUrl: Declared<string> | null;
  notifyMilestones: Declared<number[]> | null;
  /** The latest `originals.sealed`, with the count it carried (null: none given). */
  seal: Declared<number | null> | null;
  terminal: Terminal | null;
  /** A step or indicator event was seen. */
  hasWork: boolean;
  originals: Map<string, OriginalState>;
  /** The job-level executions of the job parts loaded (core/estimator/job-executions.ts). */
  jobExecutions: Executions;
  jobEstimate: BucketEstimate;
  /** Job parts: how many, which are loaded, and the head's summary copies of the others. */
  jobPartCount: number;
  loadedJobParts: Set<number>;
  jobPartCopies: Map<number, JobPartSummary>;
  partCount: number;
  /**
   * Summaries of originals, keyed by part (≥ 0) or by minus a group (< 0). A part's entry is live
   * when the part is loaded and otherwise the copy its group (or, for parts below GROUP_PARTS, the
   * head) keeps; a group that is not loaded appears as one entry `-group` with the head's copy of
   * its sum. So the sum of all entries is the job's, whatever is loaded (estimator.totalsOf).
   */
  partTotals: Map<number, Totals>;
  /** Label buckets loaded (or created); a bucket neither loaded nor in `labelBucketTotals` is empty. */
  labelBuckets: Map<number, LabelBucket>;
  /** The head's copies of the label buckets that are not loaded. */
  labelBucketTotals: Map<number, BucketTotals>;
  /** Loaded indicator tasks, keyed `labelKey \0 taskId`. */
  tasks: Map<string, TaskTally>;
  displayedCombined: number;
  eta: EtaState;
  /** The displayed figure and the ETA at each commit, thinned to at most 120 points (history.ts). */
  history: History;
  version: number;
  updatedAtMs: number | null;
  /** Derived, never stored: the compiled plan and the buckets touched since the last commit. */
  compiled: CompiledPlan | null;
  dirtyOriginals: Set<OriginalState>;
  isJobBucketDirty: boolean;
  isChanged: boolean;
}

export interface Partitioning {
  partCount: number;
}

export function createJobState(jobId: string, partitioning: Partitioning = { partCount: 1 }): JobState {
  return {
    jobId,
    plan: null,
    expectOriginals: null,
    emitExecutionProgress: null,
    notifyUrl: null,
    notifyMilestones: null,
    seal: null,
    terminal: null,
    hasWork: false,
    originals: new Map(),
    jobExecutions: new Map(),
    jobEstimate: EMPTY_ESTIMATE,
    jobPartCount: 1,
    // A new job's one job part is empty: as good as loaded.
    loadedJobParts: new Set([0]),
    jobPartCopies: new Map(),
    partCount: partitioning.partCount,
    partTotals: new Map(),
    labelBuckets: new Map(),
    labelBucketTotals: new Map(),
    tasks: new Map(),
    displayedCombined: -1,
    eta: emptyEta(),
    history: EMPTY_HISTORY,
    version: 0,
    updatedAtMs: null,
    compiled: null,
    dirtyOriginals: new Set(),
    isJobBucketDirty: false,
    isChanged: false,
  };
}

export function createOriginal(id: string, isOriginal: boolean): OriginalState {
  return {
    id,
    isOriginal,
    mime: null,
    source: null,
    field: null,
    via: null,
    stamp: null,
    isDeclared: false,
    executions: new Map(),
    links: null,
    estimate: EMPTY_ESTIMATE,
    displayed: -1,
    sizeBytes: null,
    left: NO_WORK_LEFT,
  };
}
