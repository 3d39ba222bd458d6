/**
 * A job as a producer holds it: step helpers for one execution, Tilebox-style counted progress
 * sent as running totals, the upload's originals and seal, and the job's end. Every method only
 * queues an event (the client batches and sends them); none waits for the network.
 */
import { LIMITS } from "../../core/contract/fields.ts";
import { type Event } from "../../core/contract/events.ts";
import { type Snapshot } from "../../core/contract/snapshot.ts";
import { createReporter, type ProgressDetail, type Reporter, type ReporterOptions } from "./reporter.ts";

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
/** An event before the client fills in `v`, `job_id`, `event_id` and `at`. */
export type EventDraft = DistributiveOmit<Event, "v" | "job_id" | "event_id" | "at">;

/** What a job handle needs from its client. */
export interface JobContext {
  emit(jobId: string, draft: EventDraft, options?: { atMs?: number; coalesceKey?: string }): void;
  /** Throws HeadwayClosedError once the client is closed. */
  assertOpen(what: string): void;
  now(): number;
  onReporterHeld(reporter: Reporter, isHeld: boolean): void;
  snapshot(jobId: string, detail: boolean): Promise<Snapshot>;
  /** The job said its last word (completed, failed, cancelled): the client may forget its handle. */
  onFinished(jobId: string): void;
}

export interface JobInfo {
  jobId: string;
  /** `GET` it (with the API key or a subscriber token) for the snapshot; null when the SDK has no HTTP API. */
  statusUrl: string | null;
  websocketUrl: string | null;
  /** A token for watchers of this job (from `createJob`; null for a handle from `headway.job(id)`). */
  subscriberToken: string | null;
}

export interface ExecutionOptions {
  /** The original file this execution works on (also its input, unless `inputId` says otherwise). */
  originalId?: string;
  /** Identifies the execution among the step's (e.g. a thumbnail being resized); defaults to `originalId`. */
  inputId?: string;
  /** 1 for the first try (default), higher for retries: a higher attempt replaces what lower ones reported. */
  attempt?: number;
}

export type StepResultInput = string | { resultId: string; originalId?: string; mime?: string };

export interface Execution {
  readonly step: string;
  readonly originalId: string | undefined;
  readonly inputId: string | undefined;
  readonly attempt: number;
  started(): void;
  /** In-flight progress; a `null` total means the size is not known yet. */
  progress(current: number, total: number | null, detail?: ProgressDetail): void;
  /** The execution finished: with its results (ids, or `{ resultCount }`); no argument means one result. */
  completed(results?: readonly StepResultInput[] | { resultCount: number }): void;
  failed(error: string | Error, options?: { willRetry?: boolean }): void;
  /** The same execution, one attempt later (after `failed(…, { willRetry: true })`). */
  retry(): Execution;
  /** A throttled reporter of this execution's progress (Golem's updateInterval / updateStep). */
  reporter(options?: ReporterOptions): Reporter;
}

export interface TaskOptions {
  /** The task whose work this counts: the job's figure is the sum over its tasks. */
  taskId: string;
  /** 1 by default; a retried task reports with a higher attempt, and only the highest counts. */
  attempt?: number;
}

/** Tilebox's `progress(label)`: `add` grows the total, `done` the count; sent as this task attempt's running totals. */
export interface IndicatorProgress {
  add(amount?: number): void;
  done(amount?: number): void;
  readonly totals: { added: number; done: number };
}

export interface Job extends JobInfo {
  execution(step: string, options?: ExecutionOptions): Execution;
  progress(options: TaskOptions): IndicatorProgress;
  progress(label: string | null, options: TaskOptions): IndicatorProgress;
  originalAdded(originalId: string, options?: { mime?: string; source?: "upload" | "import" }): void;
  /** No more originals will arrive; `count` is how many the producer added. */
  sealed(count?: number): void;
  /** The job is done: its figure goes to 100 and its status to `completed` (a job never ends by itself). */
  complete(): void;
  fail(error: string | Error): void;
  cancel(reason?: string): void;
  /** The current snapshot (`GET /v1/jobs/{id}`; needs the HTTP API). */
  snapshot(options?: { detail?: boolean }): Promise<Snapshot>;
}

const textOf = (error: string | Error) => (typeof error === "string" ? error : error.message || error.name).slice(0, LIMITS.errorChars);

function checkAmount(amount: number): number {
  if (!Number.isFinite(amount) || amount < 0) throw new RangeError(`an indicator amount must be a finite number ≥ 0, not ${amount}`);
  return amount;
}

export function createJob(info: JobInfo, context: JobContext): Job {
  const { jobId } = info;
  const emit = (draft: EventDraft, options?: { atMs?: number; coalesceKey?: string }) => context.emit(jobId, draft, options);
  const indicators = new Map<string, IndicatorProgress>();

  function execution(step: string, options: ExecutionOptions = {}): Execution {
    const attempt = options.attempt ?? 1;
    const ids = {
      step,
      attempt,
      ...(options.originalId === undefined ? {} : { original_id: options.originalId }),
      ...(options.inputId === undefined ? {} : { input_id: options.inputId }),
    };
    const reporters = new Set<Reporter>();
    const finish = () => {
      for (const reporter of reporters) reporter.cancel();
    };
    const progress = (current: number, total: number | null, detail: ProgressDetail, atMs?: number) =>
      emit(
        {
          type: "step.progress",
          ...ids,
          progress: [current, total],
          ...(detail.unit === undefined ? {} : { unit: detail.unit }),
          ...(detail.stepIndex === undefined ? {} : { step_index: detail.stepIndex }),
          ...(detail.message === undefined ? {} : { message: detail.message }),
        },
        atMs === undefined ? {} : { atMs },
      );
    return {
      step,
      originalId: options.originalId,
      inputId: options.inputId,
      attempt,
      started: () => emit({ type: "step.started", ...ids }),
      progress: (current, total, detail = {}) => progress(current, total, detail),
      completed(results = { resultCount: 1 }) {
        finish();
        if ("resultCount" in results) emit({ type: "step.completed", ...ids, result_count: results.resultCount });
        else {
          const wire = results.map((result) =>
            typeof result === "string"
              ? { result_id: result }
              : { result_id: result.resultId, ...(result.originalId === undefined ? {} : { original_id: result.originalId }), ...(result.mime === undefined ? {} : { mime: result.mime }) },
          );
          emit({ type: "step.completed", ...ids, results: wire });
        }
      },
      failed(error, failOptions = {}) {
        finish();
        emit({ type: "step.failed", ...ids, error: textOf(error), will_retry: failOptions.willRetry ?? false });
      },
      retry: () => execution(step, { ...options, attempt: attempt + 1 }),
      reporter(reporterOptions = {}) {
        const reporter = createReporter(reporterOptions, {
          now: context.now,
          send: (current, total, detail, atMs) => progress(current, total, detail, atMs),
          onHeld: (held, isHeld) => context.onReporterHeld(held, isHeld),
        });
        reporters.add(reporter);
        // Refused at the call once the client is closed, so no held value (and its timer) outlives close().
        return {
          ...reporter,
          report(current, total, detail) {
            context.assertOpen(`report() of ${step}`);
            reporter.report(current, total, detail);
          },
        };
      },
    };
  }

  function indicator(label: string | null, options: TaskOptions): IndicatorProgress {
    const attempt = options.attempt ?? 1;
    // One key per label, task and attempt: two handles of the same must share one running total.
    const key = JSON.stringify([label, options.taskId, attempt]);
    const known = indicators.get(key);
    if (known !== undefined) return known;
    const totals = { added: 0, done: 0 };
    const report = () =>
      emit(
        { type: "indicator.reported", ...(label === null ? {} : { label }), task_id: options.taskId, attempt, added: totals.added, done: totals.done },
        { coalesceKey: key },
      );
    const handle: IndicatorProgress = {
      add(amount = 1) {
        totals.added += checkAmount(amount);
        report();
      },
      done(amount = 1) {
        totals.done += checkAmount(amount);
        report();
      },
      get totals() {
        return { ...totals };
      },
    };
    indicators.set(key, handle);
    return handle;
  }

  const end = (draft: EventDraft) => {
    emit(draft);
    context.onFinished(jobId);
  };

  return {
    ...info,
    execution,
    progress(first: string | null | TaskOptions, second?: TaskOptions): IndicatorProgress {
      if (first !== null && typeof first === "object") return indicator(null, first);
      if (second === undefined) throw new TypeError("progress(label, { taskId }) needs the task's id");
      return indicator(first, second);
    },
    originalAdded: (originalId, options = {}) =>
      emit({ type: "original.added", original_id: originalId, ...(options.mime === undefined ? {} : { mime: options.mime }), ...(options.source === undefined ? {} : { source: options.source }) }),
    sealed: (count) => emit({ type: "originals.sealed", ...(count === undefined ? {} : { count }) }),
    complete: () => end({ type: "job.completed" }),
    fail: (error) => end({ type: "job.failed", error: textOf(error) }),
    cancel: (reason) => end({ type: "job.cancelled", ...(reason === undefined ? {} : { error: reason.slice(0, LIMITS.errorChars) }) }),
    snapshot: (options = {}) => context.snapshot(jobId, options.detail ?? false),
  };
}
