/**
 * The snapshot (docs/http-api.md): a job's figures as GET, the WebSocket, SSE, webhooks and replay give
 * them, with the opt-in detail view (true estimates, per-step counts, the in-flight executions in
 * Golem's shape).
 */
import { z } from "zod";
import { Attempt, Count, Id, Label } from "./fields.ts";

export const JobStatus = z.enum(["declared", "uploading", "executing", "completed", "failed", "cancelled"]);
export type JobStatus = z.infer<typeof JobStatus>;

const Percent = z.int().min(0).max(100);

export const FileProgress = z.object({
  original_id: Id,
  progress: Percent.nullable(),
  status: z.literal("failed").optional(),
  error: z.string().optional(),
});
export type FileProgress = z.infer<typeof FileProgress>;

export const IndicatorValue = z.object({ label: Label, done: z.number(), total: z.number() });

export const InFlightExecution = z.object({
  step: Id,
  input_id: z.string(),
  original_id: Id.nullable(),
  attempt: Attempt,
  step_index: z.tuple([Count, Count]).nullable(),
  progress: z.tuple([z.number(), z.number().nullable()]).nullable(),
  unit: z.string().nullable(),
  message: z.string().nullable(),
  /** The producer's time of its latest progress report (of its first report while it sent none). */
  at: z.iso.datetime().nullable(),
});
export type InFlightExecution = z.infer<typeof InFlightExecution>;

export const StepCounts = z.object({
  step: Id,
  scope: z.enum(["original", "job"]),
  predicted: z.number().nullable(),
  completed: z.int(),
  failed: z.int(),
  in_flight: z.int(),
});

/** A point of the job's progress over time: when, the displayed figure then, and the ETA then. */
export const HistoryEntry = z.object({ at: z.iso.datetime(), progress: Percent.nullable(), eta_seconds: z.number().min(0).nullable() });
export type HistoryEntry = z.infer<typeof HistoryEntry>;

export const SnapshotDetail = z.object({
  true_progress_combined: Percent.nullable(),
  true_progress_per_original_file: z.array(FileProgress),
  steps: z.array(StepCounts),
  /** The executions running, the most recently reported first: all of them, or a page (GET's `in_flight_page`, a frame's first 100). */
  in_flight: z.array(InFlightExecution),
  /** How many executions are running in all. */
  in_flight_total: z.int().min(0),
  /** The displayed figure and ETA over the job's life, at most 120 points spread evenly from its first commit (GET only). */
  history: z.array(HistoryEntry).optional(),
});

export const Snapshot = z.object({
  v: z.literal(1),
  job_id: Id,
  status: JobStatus,
  version: z.int().min(0),
  progress_combined: Percent.nullable(),
  progress_per_original_file: z.array(FileProgress),
  indicators: z.array(IndicatorValue),
  eta_seconds: z.number().min(0).nullable(),
  updated_at: z.iso.datetime().nullable(),
  /** Why the job failed or was cancelled, as its `job.failed` / `job.cancelled` said; absent otherwise. */
  error: z.string().optional(),
  detail: SnapshotDetail.optional(),
});
export type Snapshot = z.infer<typeof Snapshot>;
export type SnapshotDetail = z.infer<typeof SnapshotDetail>;
