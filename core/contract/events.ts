/**
 * Events on the wire (docs/events.md): the body of an SQS message and the items of HTTP ingest — each
 * event type a zod schema, `Event` their discriminated union on `type` (every place that handles
 * events switches on it exhaustively), and the envelope of up to 500 events of one job. Parse once
 * at the edge (contract/ingest.ts); never re-validate inside the core.
 */
import { z } from "zod";
import { Attempt, Count, Id, Label, LIMITS, Mime, printable, ResultCount, strict, Timestamp } from "./fields.ts";
import { Plan } from "./plan.ts";

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
export const declaration = {
  plan: Plan.optional(),
  originals: z.array(DeclaredOriginal).max(100_000).optional(),
  expect_originals: z.union([Count, z.literal("unknown")]).optional(),
  emit_execution_progress: z.boolean().optional(),
  notify_url: z.url({ protocol: /^https?$/ }).max(2_000).optional(),
  /** Headway's extension (the wire contract leaves open how a job asks for milestone webhooks): combined percentages that each send one `job.progress` webhook when first shown. */
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
/** Every `type` of the union, in its order: what tests and the OpenAPI document iterate, so that none lists event types by hand. */
export const EVENT_TYPES: readonly EventType[] = Event.options.map((option) => option.shape.type.value);
export type EventOf<T extends EventType> = Extract<Event, { type: T }>;

/**
 * What each event type reports on: the job, one original, one execution of a step, or one
 * indicator task. Every type of the union must be classified here (a new one is a compile error
 * until it is); the step and indicator event types, and the filters by family, derive from it.
 */
const FAMILY_OF = {
  "job.declared": "job",
  "original.added": "original",
  "originals.sealed": "job",
  "step.started": "step",
  "step.progress": "step",
  "step.completed": "step",
  "step.failed": "step",
  "indicator.added": "indicator",
  "indicator.done": "indicator",
  "indicator.reported": "indicator",
  "job.completed": "job",
  "job.failed": "job",
  "job.cancelled": "job",
} as const satisfies Record<EventType, "job" | "original" | "step" | "indicator">;
type TypesOf<Family> = { [T in EventType]: (typeof FAMILY_OF)[T] extends Family ? T : never }[EventType];
export type StepEvent = EventOf<TypesOf<"step">>;
export type IndicatorEvent = EventOf<TypesOf<"indicator">>;
export const isStepEvent = (event: Event): event is StepEvent => FAMILY_OF[event.type] === "step";
export const isIndicatorEvent = (event: Event): event is IndicatorEvent => FAMILY_OF[event.type] === "indicator";

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
 * message's type and its OpenAPI schema; parse messages with core/contract/ingest.ts `parseMessage`, which
 * picks the shape by the presence of `events` and so names the real field of a bad event.
 */
export const Message = z.union([Envelope, Event]);
export type Message = z.infer<typeof Message>;

export function eventsOf(message: Message): Event[] {
  return "events" in message ? message.events : [message];
}
