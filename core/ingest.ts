/**
 * Parsing queue messages at the edge. A message is one event or an envelope of one job's
 * events; an invalid event inside an otherwise sound envelope is rejected alone, so that one bad
 * event never costs its neighbours (HTTP ingest, by contrast, refuses a request whole).
 */
import { z } from "zod";
import { Event, Id, LIMITS } from "./contract.ts";
import { describeIssues, issuesOf } from "./errors.ts";
import { compileSafeParse, validateEvent } from "./validate.ts";

export const MAX_MESSAGE_BYTES = 1024 * 1024;

export interface InputRejection {
  code: "oversized" | "invalid_json" | "invalid_event" | "unknown_job" | "too_many_labels" | "wrong_job";
  reason: string;
  /** The job named by the input, when one can be read from it. */
  jobId: string | null;
  excerpt: string;
}

const LooseEnvelope = z.object({ v: z.literal(1), events: z.array(z.unknown()).min(1).max(LIMITS.eventsPerEnvelope) });
const parseLooseEnvelope = compileSafeParse(LooseEnvelope);

function jobIdIn(value: unknown): string | null {
  const jobId = (value as { job_id?: unknown } | null)?.job_id;
  return Id.safeParse(jobId).success ? (jobId as string) : null;
}

export function parseMessageBody(body: string): { events: Event[]; rejections: InputRejection[] } {
  const excerpt = body.slice(0, 500);
  if (Buffer.byteLength(body) > MAX_MESSAGE_BYTES) {
    return { events: [], rejections: [{ code: "oversized", reason: `message over ${MAX_MESSAGE_BYTES} bytes`, jobId: null, excerpt }] };
  }
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch (error) {
    return { events: [], rejections: [{ code: "invalid_json", reason: `not JSON: ${(error as Error).message}`, jobId: null, excerpt }] };
  }
  const isEnvelope = typeof json === "object" && json !== null && "events" in json;
  if (!isEnvelope) {
    const parsed = validateEvent(json);
    if (parsed.success) return { events: [parsed.data], rejections: [] };
    return { events: [], rejections: [{ code: "invalid_event", reason: describeIssues(issuesOf(parsed.error)), jobId: jobIdIn(json), excerpt }] };
  }
  const envelope = parseLooseEnvelope(json);
  if (!envelope.success) {
    const jobId = jobIdIn((json as { events?: unknown[] }).events?.[0]);
    return { events: [], rejections: [{ code: "invalid_event", reason: describeIssues(issuesOf(envelope.error)), jobId, excerpt }] };
  }
  const events: Event[] = [];
  const rejections: InputRejection[] = [];
  const parsedEvents = envelope.data.events.map((candidate) => validateEvent(candidate));
  const firstValid = parsedEvents.find((parsed) => parsed.success)?.data;
  const jobId = firstValid?.job_id ?? jobIdIn(envelope.data.events[0]);
  envelope.data.events.forEach((candidate, index) => {
    const parsed = parsedEvents[index]!;
    const eventExcerpt = () => JSON.stringify(candidate)?.slice(0, 500) ?? ""; // only for rejections: it costs as much as JSON.parse
    if (!parsed.success) {
      rejections.push({ code: "invalid_event", reason: describeIssues(issuesOf(parsed.error, ["events", index])), jobId: jobIdIn(candidate) ?? jobId, excerpt: eventExcerpt() });
    } else if (parsed.data.job_id !== jobId) {
      rejections.push({ code: "wrong_job", reason: `events[${index}].job_id: all events of an envelope belong to one job (${jobId})`, jobId: parsed.data.job_id, excerpt: eventExcerpt() });
    } else {
      events.push(parsed.data);
    }
  });
  return { events, rejections };
}
