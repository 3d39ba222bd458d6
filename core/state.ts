/**
 * The estimator's state for one job. It is split the way storage splits it: a small head
 * (declaration, flags, totals, job-level executions, indicators) and one record per original,
 * each carrying its own cached estimate, so that a store can keep originals in separate items
 * and load only the ones a batch touches. Finished work stays as one small record per
 * execution (needed to ignore late and duplicate reports); nothing grows with the event count.
 */
import type { CompiledPlan } from "./plan.ts";
import type { JobStatus, Plan } from "./contract.ts";

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

/** Status of one attempt of an execution, in the order in which they supersede each other. */
export const RUNNING = 0;
export const RETRYING = 1; // failed with will_retry: the attempt's progress is void
export const FAILED = 2; // failed for good: counts as finished, marks its file failed
export const COMPLETED = 3;
export type ExecutionStatus = typeof RUNNING | typeof RETRYING | typeof FAILED | typeof COMPLETED;

export interface Execution {
  step: string;
  inputId: string;
  originalId: string | null;
  attempt: number;
  status: ExecutionStatus;
  /** The winning in-flight report of this attempt (latest `at`, then larger fraction). */
  report: ProgressReport | null;
  /** Results of a completed attempt; `resultMimes` entries are null where the producer gave none. */
  resultCount: number;
  resultMimes: (string | null)[] | null;
  error: string | null;
  /** Event that decided a terminal status; ties between two terminal reports go to the smaller id. */
  decidedBy: string | null;
}

export interface ProgressReport {
  atMs: number;
  eventId: string;
  current: number;
  total: number | null;
  fraction: number;
  unit: string | null;
  stepIndex: [number, number] | null;
  message: string | null;
}

/** The estimate of one bucket of work: an original, or the job-level executions. */
export interface BucketEstimate {
  work: number;
  done: number;
  isAvailable: boolean;
  isFinished: boolean;
  isFailed: boolean;
  error: string | null;
}

export const EMPTY_ESTIMATE: BucketEstimate = {
  work: 0,
  done: 0,
  isAvailable: true,
  isFinished: true,
  isFailed: false,
  error: null,
};

export interface OriginalState {
  id: string;
  mime: string | null;
  source: "upload" | "import" | null;
  /** The source step (import) whose results include this original, when known. */
  via: string | null;
  stamp: Stamp | null;
  /** Listed in a `job.declared`'s `originals`. */
  isDeclared: boolean;
  executions: Map<string, Execution>;
  estimate: BucketEstimate;
  /** Highest percentage shown so far; -1 before the first. */
  displayed: number;
}

export interface TaskTally {
  attempt: number;
  added: number;
  done: number;
  seen: Set<string>;
}

export interface LabelState {
  label: string | null;
  added: number;
  done: number;
  tasks: Map<string, TaskTally>;
}

export interface Totals {
  work: number;
  done: number;
  unavailable: number;
  unfinished: number;
}

export interface EtaState {
  lastMs: number | null;
  lastFraction: number;
  /** Smoothed rate in fraction of the job per second; null until two observations. */
  rate: number | null;
  seconds: number | null;
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
  isSealed: boolean;
  terminal: Terminal | null;
  /** A step or indicator event was seen. */
  hasWork: boolean;
  originals: Map<string, OriginalState>;
  /** Number of originals (the map may hold only the loaded subset in a store). */
  originalCount: number;
  declaredOriginalCount: number;
  jobExecutions: Map<string, Execution>;
  jobEstimate: BucketEstimate;
  /** Sums of every original's cached estimate. */
  totals: Totals;
  indicators: Map<string, LabelState>;
  displayedCombined: number;
  eta: EtaState;
  version: number;
  updatedAtMs: number | null;
  /** Derived, never stored: the compiled plan and the buckets touched since the last commit. */
  compiled: CompiledPlan | null;
  dirtyOriginals: Set<OriginalState>;
  isJobBucketDirty: boolean;
  isChanged: boolean;
}

export function createJobState(jobId: string): JobState {
  return {
    jobId,
    plan: null,
    expectOriginals: null,
    emitExecutionProgress: null,
    notifyUrl: null,
    isSealed: false,
    terminal: null,
    hasWork: false,
    originals: new Map(),
    originalCount: 0,
    declaredOriginalCount: 0,
    jobExecutions: new Map(),
    jobEstimate: EMPTY_ESTIMATE,
    totals: { work: 0, done: 0, unavailable: 0, unfinished: 0 },
    indicators: new Map(),
    displayedCombined: -1,
    eta: { lastMs: null, lastFraction: 0, rate: null, seconds: null },
    version: 0,
    updatedAtMs: null,
    compiled: null,
    dirtyOriginals: new Set(),
    isJobBucketDirty: false,
    isChanged: false,
  };
}

export function createOriginal(id: string): OriginalState {
  return {
    id,
    mime: null,
    source: null,
    via: null,
    stamp: null,
    isDeclared: false,
    executions: new Map(),
    estimate: EMPTY_ESTIMATE,
    displayed: -1,
  };
}
