/**
 * The wire contract (DESIGN §3): every message that crosses a boundary, as zod 4 schemas, and the
 * TypeScript types inferred from them. Parse once at the edge; never re-validate inside the core.
 */
import { z } from "zod";
import { validatePlanGraph } from "./plan-graph.ts";

export const LIMITS = {
  idChars: 128,
  labelChars: 100,
  eventsPerEnvelope: 500,
  stepsPerPlan: 200,
  labelsPerJob: 1_000,
  /**
   * Event ids of indicator.added/done remembered per task attempt (each counts once); the next
   * delta of that attempt is rejected as `too_many_indicator_events`: send `indicator.reported`.
   */
  eventIdsPerTaskAttempt: 1_000,
  messageChars: 2_000,
  errorChars: 4_000,
} as const;

// One regex per field rather than min/max/regex checks: each zod check costs as much as the
// regex itself, and validation is the bulk of ingest time (bench/estimator.ts).
export const Id = z.string().regex(/^[A-Za-z0-9._:-]{1,128}$/, "must be 1–128 characters of [A-Za-z0-9._:-]");
/** ISO-8601 date-time with seconds and a zone (Z or ±hh:mm), as z.iso.datetime({offset: true}) takes it. */
export const Timestamp = z
  .string()
  .regex(
    /^\d{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12]\d|3[01])T(?:[01]\d|2[0-3]):[0-5]\d:[0-5]\d(?:\.\d{1,9})?(?:Z|[+-](?:[01]\d|2[0-3]):[0-5]\d)$/,
    "must be an ISO-8601 date-time with a zone, e.g. 2026-11-22T10:00:00.000Z",
  );

const Attempt = z.int().min(0).max(1_000_000);
const Count = z.int().min(0);
const Mime = z.string().min(1).max(255).regex(/^[^\s/]+\/[^\s/]+$/, "must be a MIME type such as video/mp4");
const MimePattern = z.string().min(1).max(255).regex(/^(\*|[^\s/]+)\/(\*|[^\s/]+)$/, "must be a MIME pattern such as video/*");
const Label = z.string().max(LIMITS.labelChars).nullable();

// ---------------------------------------------------------------- plan (§3.2)

export const PlanStep = z.looseObject({
  robot: z.string().min(1).max(200),
  use: z.union([Id, z.array(Id).min(1).max(LIMITS.stepsPerPlan)]).optional(),
  accepts: z.array(MimePattern).max(50).optional(),
  results_per_input: z.union([Count, z.literal("unpredictable")]).optional(),
  output_mime: Mime.optional(),
  weight: z.number().positive().max(1_000_000).optional(),
  per: z.enum(["job", "input"]).optional(),
});
export type PlanStep = z.infer<typeof PlanStep>;

export const Plan = z
  .object({
    steps: z
      .record(Id, PlanStep)
      .refine((steps) => Object.keys(steps).length <= LIMITS.stepsPerPlan, {
        message: `a plan has at most ${LIMITS.stepsPerPlan} steps`,
      }),
  })
  .superRefine((plan, ctx) => {
    for (const problem of validatePlanGraph(plan.steps)) {
      ctx.addIssue({ code: "custom", path: ["steps", ...problem.path], message: problem.message });
    }
  });
export type Plan = z.infer<typeof Plan>;

// ---------------------------------------------------------------- events (§3.1)

const common = {
  v: z.literal(1),
  job_id: Id,
  event_id: Id,
  at: Timestamp,
};

const execution = {
  ...common,
  step: Id,
  input_id: Id.optional(),
  original_id: Id.optional(),
  attempt: Attempt,
};

export const DeclaredOriginal = z.object({
  original_id: Id,
  mime: Mime.optional(),
  source: z.enum(["upload", "import"]).optional(),
});
export type DeclaredOriginal = z.infer<typeof DeclaredOriginal>;

/** What a job declares about itself: in a `job.declared` event, or in `POST /v1/jobs`. */
const declaration = {
  plan: Plan.optional(),
  originals: z.array(DeclaredOriginal).max(100_000).optional(),
  expect_originals: z.union([Count, z.literal("unknown")]).optional(),
  emit_execution_progress: z.boolean().optional(),
  notify_url: z.url({ protocol: /^https?$/ }).max(2_000).optional(),
  /** Headway's extension (DESIGN §3.7 leaves open how a job asks for milestone webhooks): combined percentages that each send one `job.progress` webhook when first shown. */
  notify_milestones: z.array(z.int().min(1).max(99)).max(20).optional(),
};

export const JobDeclared = z.object({
  ...common,
  type: z.literal("job.declared"),
  ...declaration,
});

export const OriginalAdded = z.object({
  ...common,
  type: z.literal("original.added"),
  original_id: Id,
  mime: Mime.optional(),
  source: z.enum(["upload", "import"]).optional(),
});

export const OriginalsSealed = z.object({ ...common, type: z.literal("originals.sealed") });

export const StepStarted = z.object({ ...execution, type: z.literal("step.started") });

export const StepProgress = z
  .object({
    ...execution,
    type: z.literal("step.progress"),
    progress: z.tuple([z.number().nonnegative(), z.number().nonnegative().nullable()]),
    unit: z.string().min(1).max(40).optional(),
    step_index: z.tuple([Count, z.int().positive()]).optional(),
    message: z.string().max(LIMITS.messageChars).optional(),
  })
  .refine((e) => e.step_index === undefined || e.step_index[0] < e.step_index[1], {
    path: ["step_index"],
    message: "step_index [i, n] needs 0 ≤ i < n",
  });

export const StepResult = z.object({ result_id: Id, original_id: Id.optional(), mime: Mime.optional() });
export type StepResult = z.infer<typeof StepResult>;

export const StepCompleted = z
  .object({
    ...execution,
    type: z.literal("step.completed"),
    result_count: Count.optional(),
    results: z.array(StepResult).max(10_000).optional(),
  })
  .superRefine((e, ctx) => {
    if (e.result_count === undefined && e.results === undefined) {
      ctx.addIssue({ code: "custom", path: ["result_count"], message: "give result_count or results" });
    } else if (e.result_count !== undefined && e.results !== undefined && e.results.length !== e.result_count) {
      ctx.addIssue({ code: "custom", path: ["result_count"], message: "result_count differs from the number of results" });
    }
  });

export const StepFailed = z.object({
  ...execution,
  type: z.literal("step.failed"),
  error: z.string().min(1).max(LIMITS.errorChars),
  will_retry: z.boolean(),
});

const indicator = {
  ...common,
  label: Label.optional(),
  amount: z.number().nonnegative().max(1e12),
  task_id: Id,
  attempt: Attempt,
};
export const IndicatorAdded = z.object({ ...indicator, type: z.literal("indicator.added") });
export const IndicatorDone = z.object({ ...indicator, type: z.literal("indicator.done") });
const RunningTotal = z.number().nonnegative().max(1e15);
/**
 * The running totals of one task attempt (what the SDK sends for `progress(label).add/done`):
 * cumulative, so the largest report wins and no event id needs remembering.
 */
export const IndicatorReported = z
  .object({
    ...common,
    type: z.literal("indicator.reported"),
    label: Label.optional(),
    task_id: Id,
    attempt: Attempt,
    added: RunningTotal.describe("total added so far by this task attempt (running total, not a delta)"),
    done: RunningTotal.describe("total done so far by this task attempt (running total, not a delta)"),
  })
  .describe(
    "Cumulative indicator totals of one task attempt. Per label, task and attempt the largest `added` and the largest `done` win; " +
      "indicator.added/done amounts of the same attempt add on top. Needs no memory of event ids, so it has no per-attempt event limit.",
  );

const terminal = { ...common, error: z.string().max(LIMITS.errorChars).optional() };
export const JobCompleted = z.object({ ...terminal, type: z.literal("job.completed") });
export const JobFailed = z.object({ ...terminal, type: z.literal("job.failed") });
export const JobCancelled = z.object({ ...terminal, type: z.literal("job.cancelled") });

export const Event = z.discriminatedUnion("type", [
  JobDeclared,
  OriginalAdded,
  OriginalsSealed,
  StepStarted,
  StepProgress,
  StepCompleted,
  StepFailed,
  IndicatorAdded,
  IndicatorDone,
  IndicatorReported,
  JobCompleted,
  JobFailed,
  JobCancelled,
]);
export type Event = z.infer<typeof Event>;
export type EventType = Event["type"];
export type EventOf<T extends EventType> = Extract<Event, { type: T }>;
export type StepEvent = EventOf<"step.started" | "step.progress" | "step.completed" | "step.failed">;
export type IndicatorEvent = EventOf<"indicator.added" | "indicator.done" | "indicator.reported">;
export type IndicatorDeltaEvent = EventOf<"indicator.added" | "indicator.done">;

export const Envelope = z
  .object({ v: z.literal(1), events: z.array(Event).min(1).max(LIMITS.eventsPerEnvelope) })
  .superRefine((envelope, ctx) => {
    const jobId = envelope.events[0]?.job_id;
    envelope.events.forEach((event, index) => {
      if (event.job_id !== jobId) {
        ctx.addIssue({ code: "custom", path: ["events", index, "job_id"], message: "all events of an envelope belong to one job" });
      }
    });
  });
export type Envelope = z.infer<typeof Envelope>;

/** One SQS message body: a single event or an envelope of events of one job. */
export const Message = z.union([Envelope, Event]);
export type Message = z.infer<typeof Message>;

export function eventsOf(message: Message): Event[] {
  return "events" in message ? message.events : [message];
}

// ---------------------------------------------------------------- snapshot (§3.4)

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
});

export const StepCounts = z.object({
  step: Id,
  scope: z.enum(["original", "job"]),
  predicted: z.number().nullable(),
  completed: z.int(),
  failed: z.int(),
  in_flight: z.int(),
});

export const SnapshotDetail = z.object({
  true_progress_combined: Percent.nullable(),
  true_progress_per_original_file: z.array(FileProgress),
  steps: z.array(StepCounts),
  in_flight: z.array(InFlightExecution),
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
  detail: SnapshotDetail.optional(),
});
export type Snapshot = z.infer<typeof Snapshot>;
export type SnapshotDetail = z.infer<typeof SnapshotDetail>;

// ---------------------------------------------------------------- HTTP API (§3.6)

export const CreateJobRequest = z.object({
  job_id: Id.optional(),
  ...declaration,
});
export type CreateJobRequest = z.infer<typeof CreateJobRequest>;

export const CreateJobResponse = z.object({
  job_id: Id,
  status_url: z.string(),
  websocket_url: z.string().nullable(),
  subscriber_token: z.string().nullable(),
});

export const IngestResponse = z.object({ accepted: z.int().min(0), messages: z.int().min(0) });

export const Rejection = z.object({
  code: z.string(),
  reason: z.string(),
  source: z.string(),
  excerpt: z.string(),
  at: z.iso.datetime(),
});
export const RejectionList = z.object({ job_id: Id, rejections: z.array(Rejection) });

export const TokenRequest = z.object({
  job_ids: z.array(Id).min(1).max(100),
  expires_in_seconds: z.int().min(1).max(7 * 24 * 3600).default(3600),
});
export const TokenResponse = z.object({ token: z.string(), expires_at: z.iso.datetime() });

export const ErrorBody = z.object({
  error: z.object({
    code: z.string(),
    message: z.string(),
    fields: z.array(z.object({ field: z.string(), message: z.string() })).optional(),
    request_id: z.string().optional(),
  }),
});

export const WebhookDeliveryList = z.object({
  job_id: Id,
  deliveries: z.array(
    z.object({
      webhook_id: z.string(),
      attempt: z.int(),
      url: z.string(),
      outcome: z.enum(["delivered", "failed", "gone", "gave_up"]),
      status: z.int().nullable(),
      error: z.string().nullable(),
      duration_ms: z.number(),
      at: z.iso.datetime(),
      next_attempt_at: z.iso.datetime().nullable(),
    }),
  ),
});
