/**
 * Parsing messages at the edge: the one function that the queue (functions/reducer/index.ts), HTTP
 * ingest (functions/api/index.ts) and `headway replay` use to turn a body into events. A message is one
 * event or an envelope of one job's events, told apart by the presence of `events`, so that a bad
 * event is named by its own fields (`attempt`) or by its index in the envelope (`events[3].attempt`).
 * An invalid event inside an otherwise sound envelope is rejected alone: one bad event never costs
 * its neighbours on the queue (HTTP ingest, by contrast, refuses a request whole).
 *
 * It never throws, whatever the bytes: every refusal is a value (core/contract/rejection.ts).
 */
import { z } from "zod";
import { Event } from "./events.ts";
import { Id, LIMITS } from "./fields.ts";
import { describeIssues, issuesOf, unknownKeyError } from "./issues.ts";
import { type FieldIssue } from "../errors.ts";
import { fastEvent } from "./event-fast-path.ts";
import { excerptOf, type Rejection } from "./rejection.ts";

export const MAX_MESSAGE_BYTES = 1024 * 1024;

export interface ParsedMessage {
  /** The valid events, in the message's order. */
  events: Event[];
  /** One per refused event (or one for the whole message when it is not a message at all). */
  rejections: Rejection[];
  /** Whether the message was an envelope (`{"v":1,"events":[…]}`): its fields are named `events[i].…`. */
  isEnvelope: boolean;
}

/**
 * Events refuse unknown keys; under zod's runtime parser a strict object costs about 45 % more
 * than a stripping one, compiled (z.compile, which falls back to the runtime parser for the
 * issues of a failure, so messages are the same) about nothing.
 */
const EventParser = z.compile(Event);

const EnvelopeShape = z.strictObject(
  { v: z.literal(1), events: z.array(z.unknown()).min(1, "an envelope holds 1–500 events").max(LIMITS.eventsPerEnvelope, `an envelope holds at most ${LIMITS.eventsPerEnvelope} events`) },
  { error: unknownKeyError(["v", "events"]) },
);

function jobIdIn(value: unknown): string | null {
  if (typeof value !== "object" || value === null) return null;
  const jobId = (value as { job_id?: unknown }).job_id;
  return typeof jobId === "string" && Id.safeParse(jobId).success ? jobId : null;
}

function invalid(fields: FieldIssue[], jobId: string | null, excerpt: string): Rejection {
  return { code: "invalid_event", message: describeIssues(fields), fields, jobId, excerpt };
}

/** The JSON text of a part of a message, for an excerpt (never throws: a deeply nested value cannot be re-serialized). */
function excerptOfValue(value: unknown, fallback: string): string {
  try {
    return excerptOf(JSON.stringify(value) ?? "");
  } catch {
    return fallback;
  }
}

/** A message body as text (an SQS body, an HTTP request body, a replay line). */
export function parseMessageBody(body: string): ParsedMessage {
  const excerpt = excerptOf(body);
  if (body.length > MAX_MESSAGE_BYTES / 3 && Buffer.byteLength(body) > MAX_MESSAGE_BYTES) {
    return { isEnvelope: false, events: [], rejections: [{ code: "oversized", message: `a message is at most ${MAX_MESSAGE_BYTES} bytes`, jobId: null, excerpt }] };
  }
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch (error) {
    return { isEnvelope: false, events: [], rejections: [{ code: "invalid_json", message: `not JSON: ${(error as Error).message}`, jobId: null, excerpt }] };
  }
  return parseMessage(json, excerpt);
}

/** A message already parsed from JSON. */
export function parseMessage(json: unknown, excerpt = excerptOfValue(json, "")): ParsedMessage {
  try {
    return parseShape(json, excerpt);
  } catch (error) {
    // Validation itself failed (a bug, or input beyond what the validator survives): the message is refused, never the batch.
    const message = `Headway could not validate this message (${String(error).slice(0, 200)})`;
    return { isEnvelope: false, events: [], rejections: [{ code: "invalid_event", message, fields: [{ field: "", message }], jobId: jobIdIn(json), excerpt }] };
  }
}

/** `{"v":1,"events":[…1–500…]}` and nothing else, seen without zod (which would copy the array). */
function isPlainEnvelope(json: object): json is { v: 1; events: unknown[] } {
  const { v, events } = json as { v?: unknown; events?: unknown };
  if (v !== 1 || !Array.isArray(events) || events.length === 0 || events.length > LIMITS.eventsPerEnvelope) return false;
  if (Object.getPrototypeOf(json) !== Object.prototype) return false;
  let keys = 0;
  for (const _key in json) keys++;
  return keys === 2;
}

function parseShape(json: unknown, excerpt: string): ParsedMessage {
  if (typeof json !== "object" || json === null || Array.isArray(json)) {
    const hint = Array.isArray(json) ? `; send several events as an envelope: {"v":1,"events":[…]}` : "";
    return { isEnvelope: false, events: [], rejections: [invalid([{ field: "", message: `a message is one event (a JSON object with a type) or an envelope {"v":1,"events":[…]}${hint}` }], null, excerpt)] };
  }
  if (!Object.hasOwn(json, "events")) {
    const fast = fastEvent(json);
    if (fast !== undefined) return { isEnvelope: false, events: [fast], rejections: [] };
    const parsed = EventParser.safeParse(json);
    if (parsed.success) return { isEnvelope: false, events: [parsed.data], rejections: [] };
    return { isEnvelope: false, events: [], rejections: [invalid(issuesOf(parsed.error), jobIdIn(json), excerpt)] };
  }
  let candidates: unknown[];
  if (isPlainEnvelope(json)) {
    candidates = json.events;
  } else {
    const envelope = EnvelopeShape.safeParse(json);
    if (!envelope.success) {
      const first = (json as { events?: unknown }).events;
      return { isEnvelope: true, events: [], rejections: [invalid(issuesOf(envelope.error), jobIdIn(Array.isArray(first) ? first[0] : null), excerpt)] };
    }
    candidates = envelope.data.events;
  }
  // One slot per candidate: the valid event, or undefined with zod's error under its index.
  const checked: (Event | undefined)[] = [];
  let errors: Map<number, z.ZodError> | undefined;
  let jobId: string | null = null;
  let isOneJob = true;
  for (let index = 0; index < candidates.length; index++) {
    const candidate = candidates[index];
    let event = fastEvent(candidate);
    if (event === undefined) {
      const parsed = EventParser.safeParse(candidate);
      if (parsed.success) event = parsed.data;
      else (errors ??= new Map()).set(index, parsed.error);
    }
    checked.push(event);
    if (event === undefined) continue;
    // The envelope's job is that of its first valid event (invalid events before it are named under it too).
    jobId ??= event.job_id;
    if (event.job_id !== jobId) isOneJob = false;
  }
  if (errors === undefined && isOneJob) return { isEnvelope: true, events: checked as Event[], rejections: [] };
  jobId ??= jobIdIn(candidates[0]);
  const events: Event[] = [];
  const rejections: Rejection[] = [];
  checked.forEach((event, index) => {
    if (event !== undefined && event.job_id === jobId) {
      events.push(event);
      return;
    }
    const eventExcerpt = excerptOfValue(candidates[index], excerpt);
    if (event === undefined) {
      rejections.push(invalid(issuesOf(errors!.get(index)!, ["events", index]), jobIdIn(candidates[index]) ?? jobId, eventExcerpt));
    } else {
      const field = { field: `events[${index}].job_id`, message: `all events of an envelope belong to one job (${jobId})` };
      rejections.push({ code: "wrong_job", message: describeIssues([field]), fields: [field], jobId: event.job_id, excerpt: eventExcerpt });
    }
  });
  return { isEnvelope: true, events, rejections };
}
