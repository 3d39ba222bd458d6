/**
 * The wire contract: every message that crosses a boundary, as zod 4 schemas, and the
 * TypeScript types inferred from them. Parse once at the edge; never re-validate inside the core.
 */
import { z } from "zod";
import { closestKey, describeIssue, shownKey, unknownKeyError } from "./errors.ts";
import { validatePlanGraph } from "./plan-graph.ts";
import { REJECTION_CODES } from "./rejection.ts";
import { TRANSLOADIT_PARAMETERS } from "./transloadit-parameters.ts";

// Every schema's messages in users' words, unless the schema says its own (core/errors.ts).
z.config({ customError: describeIssue });

export const LIMITS = {
  idChars: 128,
  labelChars: 100,
  eventsPerEnvelope: 500,
  stepsPerPlan: 200,
  /**
   * A plan's steps as JSON (UTF-8), robot parameters included: the plan lives in the job's head
   * item, which DynamoDB caps at 400 KB with everything else in it.
   */
  planBytes: 64 * 1024,
  labelsPerJob: 1_000,
  /**
   * Event ids of indicator.added/done remembered per task attempt (each counts once); the next
   * delta of that attempt is rejected as `too_many_indicator_events`: send `indicator.reported`.
   */
  eventIdsPerTaskAttempt: 1_000,
  messageChars: 2_000,
  errorChars: 4_000,
  /** Results of one execution (`result_count`, and a step's `results_per_input`). */
  resultsPerExecution: 1_000_000,
  /** Executions a plan may predict for one step of one original file (fan-out multiplied along the DAG). */
  fanOutPerOriginal: 1_000_000_000,
  /** Indicator amounts, each. */
  amount: 1e12,
  /** The numbers of `step.progress` (bytes, items…): 2^53 − 1, so sums stay exact. */
  progressValue: Number.MAX_SAFE_INTEGER,
} as const;

/**
 * An object that refuses keys it does not declare, naming each with the closest known key
 * (`unknown key results_per_inpt: did you mean results_per_input?`), so that typos are refused
 * instead of silently ignored.
 */
function strict<Shape extends z.core.$ZodLooseShape>(shape: Shape) {
  return z.strictObject(shape, { error: unknownKeyError(Object.keys(shape)) });
}

/**
 * Free text without control characters (C0, DEL, C1) or unpaired surrogates: such text ends up in
 * storage keys joined with U+0000 (labels) or in names a person must read (robots, units, MIME).
 * One regex, not several checks: each zod check costs about as much as the regex itself.
 */
export const printablePattern = (min: number, max: number) =>
  new RegExp(`^(?:[^\\u0000-\\u001f\\u007f-\\u009f\\ud800-\\udfff]|[\\ud800-\\udbff][\\udc00-\\udfff]){${min},${max}}$`);
const printable = (min: number, max: number, what: string) =>
  z.string().regex(printablePattern(min, max), `must be ${what}: ${min === 0 ? "at most " : `${min}–`}${max} characters, no control characters`);

// One regex per field rather than min/max/regex checks: each zod check costs as much as the
// regex itself, and validation is the bulk of ingest time (bench/estimator.ts).
// The patterns are exported for core/event-fast-path.ts, which validates the everyday events
// without zod and must accept exactly what these schemas accept (test/event-fast-path.property.test.ts).
export const ID_PATTERN = /^[A-Za-z0-9._:-]{1,128}$/;
export const TIMESTAMP_PATTERN =
  /^\d{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12]\d|3[01])T(?:[01]\d|2[0-3]):[0-5]\d:[0-5]\d(?:\.\d{1,9})?(?:Z|[+-](?:[01]\d|2[0-3]):[0-5]\d)$/;
export const MIME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}\/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}$/;

export const Id = z.string().regex(ID_PATTERN, "must be 1–128 characters of [A-Za-z0-9._:-]");
/** ISO-8601 date-time with seconds and a zone (Z or ±hh:mm), as z.iso.datetime({offset: true}) takes it. */
export const Timestamp = z.string().regex(TIMESTAMP_PATTERN, "must be an ISO-8601 date-time with a zone, e.g. 2026-11-22T10:00:00.000Z");

const Attempt = z.int().min(0).max(1_000_000);
/** z.int() is a safe integer: 1e400 (Infinity), 1e20 and 1.5 are all refused. */
const Count = z.int().min(0);
const ResultCount = z.int().min(0).max(LIMITS.resultsPerExecution);
// RFC 6838 type and subtype names (no parameters): nothing a key or a log line could trip on.
const Mime = z.string().regex(MIME_PATTERN, "must be a MIME type such as video/mp4");
const MimePattern = z
  .string()
  .regex(/^(?:\*|[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126})\/(?:\*|[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126})$/, "must be a MIME pattern such as video/*");
const Label = printable(0, LIMITS.labelChars, "a label").nullable();

// ---------------------------------------------------------------- plan (§3.2)

/** Headway's own keys of a step; any other key is a robot parameter (kept, read only where core/catalogue.ts says). */
const HEADWAY_STEP_KEYS = ["robot", "use", "accepts", "results_per_input", "output_mime", "weight", "per"];

const BundleFlag = z.union([z.boolean(), z.enum(["true", "false"])]);
const FieldNames = z.union([printable(0, 200, "a form field name"), z.array(printable(0, 200, "a form field name")).max(100)]);
/** One entry of a `use` list: a step name, or `{name, as, fields}` (Transloadit's roles and form-field filter). */
const UseEntry = z.union([Id, z.looseObject({ name: Id, as: printable(0, 200, "a role").optional(), fields: FieldNames.optional() })]);
const UseList = z.array(UseEntry).min(1).max(LIMITS.stepsPerPlan);
/** `use` in every form Transloadit takes: a name, a list, or `{steps, bundle_steps, group_by_original, fields}`. */
export const Use = z.union([
  Id,
  UseList,
  z.looseObject({ steps: z.union([Id, UseList]), bundle_steps: BundleFlag.optional(), group_by_original: BundleFlag.optional(), fields: FieldNames.optional() }),
]);

/** /file/filter's `accepts`: Transloadit's conditions, `[[value, operator, value], …]`, a JavaScript `${…}` string, or null. */
const FilterConditions = z.union([z.null(), z.string().max(10_000), z.array(z.array(z.unknown()).max(10)).max(100)]);

const FILTER_ROBOT = "/file/filter";

/** Robot parameters are any JSON, bounded so that a stored plan round-trips exactly and is walked without recursion limits. */
const PARAMETER_DEPTH = 32;

function parameterProblem(value: unknown): string | null {
  const pending: [unknown, number][] = [[value, 0]];
  while (pending.length > 0) {
    const [item, depth] = pending.pop()!;
    if (typeof item === "number" && !Number.isFinite(item)) return "numbers must be finite";
    if (typeof item !== "object" || item === null) continue;
    if (depth >= PARAMETER_DEPTH) return `nests deeper than ${PARAMETER_DEPTH} levels`;
    for (const inner of Array.isArray(item) ? item : Object.values(item)) pending.push([inner, depth + 1]);
  }
  return null;
}

/**
 * One step: Headway's keys, and the robot's own parameters, accepted as sent (Transloadit's
 * Assembly Instructions verbatim). A key that resembles one of Headway's keys and is none of
 * Transloadit's parameters is refused as a likely typo, naming the key it resembles.
 */
export const PlanStep = z
  .looseObject({
    robot: printable(1, 200, "a robot name"),
    use: Use.optional(),
    accepts: z.union([z.array(MimePattern).max(50), FilterConditions]).optional(),
    results_per_input: z.union([ResultCount, z.literal("unpredictable")]).optional(),
    output_mime: Mime.optional(),
    weight: z.number().positive().max(1_000_000).optional(),
    per: z.enum(["job", "input"]).optional(),
  })
  .superRefine(
    (step, ctx) => {
      for (const [key, value] of Object.entries(step)) {
        if (HEADWAY_STEP_KEYS.includes(key)) continue;
        const suggestion = TRANSLOADIT_PARAMETERS.has(key) ? null : closestKey(key, HEADWAY_STEP_KEYS);
        if (suggestion !== null) ctx.addIssue({ code: "custom", path: [key], message: `unknown key ${shownKey(key)}: did you mean ${suggestion}?` });
        const problem = parameterProblem(value);
        if (problem !== null) ctx.addIssue({ code: "custom", path: [key], message: `robot parameter ${problem}` });
      }
      const { accepts, robot } = step as { accepts?: unknown; robot?: unknown };
      if (accepts === undefined || typeof robot !== "string") return;
      const isPatterns = Array.isArray(accepts) && accepts.every((item) => typeof item === "string");
      if (robot === FILTER_ROBOT && isPatterns && accepts.length > 0) {
        ctx.addIssue({ code: "custom", path: ["accepts"], message: 'on /file/filter, accepts holds conditions such as [["${file.mime}", "regex", "image"]], not MIME patterns' });
      } else if (robot !== FILTER_ROBOT && !isPatterns) {
        ctx.addIssue({ code: "custom", path: ["accepts"], message: "must be MIME patterns such as video/* (conditions are /file/filter's)" });
      }
    },
    { when: () => true },
  );
export type PlanStep = z.infer<typeof PlanStep>;

/**
 * A plan takes the steps as Transloadit's Assembly Instructions do: `{"steps": {...}}`, the whole
 * instructions object (its other keys, `auth`, `template_id`, `fields`, `notify_url`, …, are
 * accepted and not kept), or a bare map of steps (every value an object with a `robot`).
 */
function asInstructions(value: unknown, ctx: { addIssue: (issue: { code: "custom"; path: string[]; message: string; input: unknown }) => void }): unknown {
  if (typeof value !== "object" || value === null || Array.isArray(value) || Object.hasOwn(value, "steps")) return value;
  const entries = Object.values(value);
  const isBareSteps = entries.length > 0 && entries.every((entry) => typeof entry === "object" && entry !== null && Object.hasOwn(entry, "robot"));
  if (isBareSteps) return { steps: value };
  for (const key of Object.keys(value)) {
    if (closestKey(key, ["steps"]) !== null) ctx.addIssue({ code: "custom", path: [key], message: `unknown key ${shownKey(key)}: did you mean steps?`, input: value });
  }
  return value;
}

/** The UTF-8 bytes of a value as JSON (robot parameters are bounded in depth before it is called). */
export function jsonBytes(value: unknown): number {
  return new TextEncoder().encode(JSON.stringify(value)).length;
}

export const Plan = z.preprocess(
  asInstructions,
  z
    .object({
      steps: z.record(Id, PlanStep).refine((steps) => Object.keys(steps).length <= LIMITS.stepsPerPlan, {
        message: `a plan has at most ${LIMITS.stepsPerPlan} steps`,
      }),
    })
    .superRefine((plan, ctx) => {
      const bytes = jsonBytes(plan.steps);
      if (bytes > LIMITS.planBytes) {
        ctx.addIssue({ code: "custom", path: ["steps"], message: `the steps take ${bytes} bytes as JSON; a plan takes at most ${LIMITS.planBytes}` });
        return;
      }
      for (const problem of validatePlanGraph(plan.steps, LIMITS.fanOutPerOriginal)) {
        ctx.addIssue({ code: "custom", path: ["steps", ...problem.path], message: problem.message });
      }
    }),
);
export type Plan = z.infer<typeof Plan>;

// ---------------------------------------------------------------- events (§3.1)

/** Events refuse unknown keys too (docs/events.md, "Limits and rejection codes"): a misspelt `input_id` would otherwise silently change which execution a report belongs to. */
const event = strict;
/** `1e400` parses to Infinity, which z.number() refuses; the bound keeps sums of them exact. */
const ProgressValue = z.number().min(0).max(LIMITS.progressValue);

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

/** The form field a file was uploaded through (Transloadit's `${file.field}`), which a plan's `use` may select by. */
const FormField = printable(1, 200, "a form field name");

export const DeclaredOriginal = strict({
  original_id: Id,
  mime: Mime.optional(),
  source: z.enum(["upload", "import"]).optional(),
  field: FormField.optional(),
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

export const JobDeclared = event({
  ...common,
  type: z.literal("job.declared"),
  ...declaration,
});

export const OriginalAdded = event({
  ...common,
  type: z.literal("original.added"),
  original_id: Id,
  mime: Mime.optional(),
  source: z.enum(["upload", "import"]).optional(),
  field: FormField.optional(),
});

export const OriginalsSealed = event({ ...common, type: z.literal("originals.sealed"), count: Count.max(10_000_000).optional() });

export const StepStarted = event({ ...execution, type: z.literal("step.started") });

export const StepProgress = event({
  ...execution,
  type: z.literal("step.progress"),
  progress: z.tuple([ProgressValue, ProgressValue.nullable()]),
  unit: printable(1, 40, "a unit").optional(),
  step_index: z.tuple([Count, z.int().positive()]).optional(),
  message: z.string().max(LIMITS.messageChars).optional(),
})
  .refine((e) => e.step_index === undefined || e.step_index[0] < e.step_index[1], {
    path: ["step_index"],
    message: "step_index [i, n] needs 0 ≤ i < n",
  });

export const StepResult = strict({ result_id: Id, original_id: Id.optional(), mime: Mime.optional() });
export type StepResult = z.infer<typeof StepResult>;

export const StepCompleted = event({
  ...execution,
  type: z.literal("step.completed"),
  result_count: ResultCount.optional(),
  results: z.array(StepResult).max(10_000).optional(),
})
  .superRefine((e, ctx) => {
    if (e.result_count === undefined && e.results === undefined) {
      ctx.addIssue({ code: "custom", path: ["result_count"], message: "give result_count or results" });
    } else if (e.result_count !== undefined && e.results !== undefined && e.results.length !== e.result_count) {
      ctx.addIssue({ code: "custom", path: ["result_count"], message: "result_count differs from the number of results" });
    }
  });

export const StepFailed = event({
  ...execution,
  type: z.literal("step.failed"),
  error: z.string().min(1).max(LIMITS.errorChars),
  will_retry: z.boolean(),
});

const indicator = {
  ...common,
  label: Label.optional(),
  amount: z.number().nonnegative().max(LIMITS.amount),
  task_id: Id,
  attempt: Attempt,
};
export const IndicatorAdded = event({ ...indicator, type: z.literal("indicator.added") });
export const IndicatorDone = event({ ...indicator, type: z.literal("indicator.done") });
const RunningTotal = z.number().nonnegative().max(1e15);
/**
 * The running totals of one task attempt (what the SDK sends for `progress(label).add/done`):
 * cumulative, so the largest report wins and no event id needs remembering.
 */
export const IndicatorReported = event({
  ...common,
  type: z.literal("indicator.reported"),
  label: Label.optional(),
  task_id: Id,
  attempt: Attempt,
  added: RunningTotal.describe("total added so far by this task attempt (running total, not a delta)"),
  done: RunningTotal.describe("total done so far by this task attempt (running total, not a delta)"),
}).describe(
  "Cumulative indicator totals of one task attempt. Per label, task and attempt the largest `added` and the largest `done` win; " +
    "indicator.added/done amounts of the same attempt add on top. Needs no memory of event ids, so it has no per-attempt event limit.",
);

const terminal = { ...common, error: z.string().max(LIMITS.errorChars).optional() };
export const JobCompleted = event({ ...terminal, type: z.literal("job.completed") });
export const JobFailed = event({ ...terminal, type: z.literal("job.failed") });
export const JobCancelled = event({ ...terminal, type: z.literal("job.cancelled") });

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

export const Envelope = strict({ v: z.literal(1), events: z.array(Event).min(1).max(LIMITS.eventsPerEnvelope) })
  .superRefine((envelope, ctx) => {
    const jobId = envelope.events[0]?.job_id;
    envelope.events.forEach((event, index) => {
      if (event.job_id !== jobId) {
        ctx.addIssue({ code: "custom", path: ["events", index, "job_id"], message: "all events of an envelope belong to one job" });
      }
    });
  });
export type Envelope = z.infer<typeof Envelope>;

/**
 * One SQS message body: a single event or an envelope of events of one job. This union is the
 * message's type and its OpenAPI schema; parse messages with core/ingest.ts `parseMessage`, which
 * picks the shape by the presence of `events` and so names the real field of a bad event.
 */
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

// ---------------------------------------------------------------- HTTP API (§3.6)

export const CreateJobRequest = strict({
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

/**
 * Paging of `GET /v1/jobs/{id}`'s per-file list (files in `original_id` order): `files_page` is
 * 0-based; without it the list is whole. The answer then carries `files_page: {index, count,
 * total_files}`, the shape of the WebSocket's paged frames.
 */
export const FilesPageQuery = z.object({
  files_page: z.coerce.number().int().min(0).max(1_000_000).optional(),
  files_per_page: z.coerce.number().int().min(1).max(10_000).default(1_000),
  /** With `detail=true`: the page of the in-flight executions (the most recently reported first). */
  in_flight_page: z.coerce.number().int().min(0).max(1_000_000).default(0),
  in_flight_per_page: z.coerce.number().int().min(1).max(1_000).default(100),
});
export const FilesPage = z.object({ index: z.int().min(0), count: z.int().min(0), total_files: z.int().min(0) });
export const PagedSnapshot = Snapshot.extend({ files_page: FilesPage.optional() });

/** `GET /v1/jobs`: the tenant's jobs, newest first, a page at a time. */
export const JobListQuery = z.object({
  limit: z.coerce.number().int().min(1).max(100).default(20),
  cursor: z.string().min(1).max(400).optional(),
});
export const JobListEntry = z.object({
  job_id: Id,
  status: Snapshot.shape.status,
  version: z.int().min(0),
  progress_combined: z.int().min(0).max(100).nullable(),
  eta_seconds: z.number().nullable(),
  created_at: z.iso.datetime(),
  updated_at: z.iso.datetime().nullable(),
});
export const JobList = z.object({
  jobs: z.array(JobListEntry),
  /** Pass as `cursor` for the next (older) page; null at the end. */
  next_cursor: z.string().nullable(),
});

export const IngestResponse = z.object({ accepted: z.int().min(0), messages: z.int().min(0) });

export const Rejection = z.object({
  code: z.enum(REJECTION_CODES),
  reason: z.string(),
  source: z.string(),
  excerpt: z.string(),
  at: z.iso.datetime(),
});
export const RejectionList = z.object({ job_id: Id, rejections: z.array(Rejection) });
export const TenantRejectionList = z.object({ rejections: z.array(Rejection.extend({ job_id: Id.nullable() })) });

export const TokenRequest = z.object({
  job_ids: z.array(Id).min(1).max(100),
  expires_in_seconds: z.int().min(1).max(7 * 24 * 3600).default(3600),
});
/** `websocket_url` says where to use the token (null: no WebSocket API; use the SSE stream), so a watcher needs only the HTTP URL. */
export const TokenResponse = z.object({ token: z.string(), expires_at: z.iso.datetime(), websocket_url: z.string().nullable() });
export type TokenResponse = z.infer<typeof TokenResponse>;

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
