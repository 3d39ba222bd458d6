import { describe, expect, it } from "vitest";
import { Event } from "../core/contract/events.ts";
import { describeIssues, issuesOf } from "../core/contract/issues.ts";
import { HeadwayError } from "../core/errors.ts";
import { fastEvent } from "../core/contract/event-fast-path.ts";
import { parseMessageBody } from "../core/contract/ingest.ts";
import { createReplay } from "../core/estimator/replay.ts";

const base = { v: 1, job_id: "job-1", at: "2026-11-22T10:00:00.000Z" };
const started = (i: number, fields: Record<string, unknown> = {}) => ({ ...base, event_id: `e${i}`, type: "step.started", step: "encoded", original_id: "f1", attempt: 1, ...fields });
const progress = (i: number, fields: Record<string, unknown> = {}) => ({ ...started(i), type: "step.progress", progress: [1, 2], ...fields });
const without = (event: Record<string, unknown>, key: string) => Object.fromEntries(Object.entries(event).filter(([k]) => k !== key));

const parse = (message: unknown) => parseMessageBody(typeof message === "string" ? message : JSON.stringify(message));
const fieldsOf = (message: unknown) => parse(message).rejections.flatMap((rejection) => (rejection.fields ?? []).map((issue) => issue.field));

describe("ingest: one event", () => {
  it.each([
    ["attempt missing", without(started(1), "attempt"), "attempt"],
    ["at as epoch seconds", started(1, { at: 1_763_805_600 }), "at"],
    ["progress as a fraction", progress(1, { progress: 0.4 }), "progress"],
  ])("names the real field of a single event with %s", (_name, event, field) => {
    const { events, rejections } = parse(event);
    expect(events).toEqual([]);
    expect(rejections).toHaveLength(1);
    expect(rejections[0]).toMatchObject({ code: "invalid_event", jobId: "job-1", fields: [{ field }] });
    expect(rejections[0]!.message).toMatch(new RegExp(`^${field}: `));
    expect(rejections[0]!.message).not.toContain("events");
  });

  it("answers an unknown type on the type field", () => {
    expect(fieldsOf(started(1, { type: "step.teleported" }))).toEqual(["type"]);
  });
});

describe("ingest: envelopes", () => {
  it("names the index and the fields of the bad event, and keeps the good ones", () => {
    const events = [started(0), started(1), started(2), without(started(3, { at: "yesterday" }), "attempt"), started(4)];
    const { events: valid, rejections, isEnvelope } = parse({ v: 1, events });
    expect(isEnvelope).toBe(true);
    expect(valid.map((event) => event.event_id)).toEqual(["e0", "e1", "e2", "e4"]);
    expect(rejections).toHaveLength(1);
    expect(rejections[0]!.fields!.map((issue) => issue.field).sort()).toEqual(["events[3].at", "events[3].attempt"]);
    expect(rejections[0]!.excerpt).toContain('"event_id":"e3"');
  });

  it("names each bad event separately", () => {
    expect(fieldsOf({ v: 1, events: [progress(0, { progress: 0.4 }), started(1), started(2, { attempt: -1 })] })).toEqual(["events[0].progress", "events[2].attempt"]);
  });

  it("refuses the events of another job as wrong_job, naming their index", () => {
    const { rejections } = parse({ v: 1, events: [started(0), started(1, { job_id: "job-2" })] });
    expect(rejections).toMatchObject([{ code: "wrong_job", jobId: "job-2", fields: [{ field: "events[1].job_id" }] }]);
  });

  it.each([
    ["events that are not an array", { v: 1, events: {} }, "events"],
    ["no events", { v: 1, events: [] }, "events"],
    ["501 events", { v: 1, events: Array.from({ length: 501 }, (_, i) => started(i)) }, "events"],
    ["a wrong version", { v: 2, events: [started(0)] }, "v"],
    ["an unknown key", { v: 1, events: [started(0)], job_id: "job-1" }, "job_id"],
  ])("refuses an envelope with %s as a whole", (_name, message, field) => {
    const { events, rejections } = parse(message);
    expect(events).toEqual([]);
    expect(rejections).toHaveLength(1);
    expect(rejections[0]!.fields!.map((issue) => issue.field)).toEqual([field]);
  });
});

describe("ingest: any bytes", () => {
  it.each([
    ["not JSON", "{nope", "invalid_json"],
    ["truncated JSON", JSON.stringify(started(1)).slice(0, 40), "invalid_json"],
    ["null", "null", "invalid_event"],
    ["a number", "1e400", "invalid_event"],
    ["an array of events", JSON.stringify([started(1)]), "invalid_event"],
    ["a body over 1 MiB", JSON.stringify(started(1, { pad: "x".repeat(1024 * 1024) })), "oversized"],
    ["nesting 100,000 deep", `{"v":1,"events":[${"[".repeat(100_000)}${"]".repeat(100_000)}]}`, "invalid_event"],
    ["nesting 100,000 deep inside an event", JSON.stringify(started(1)).replace('"attempt":1', `"attempt":${"[".repeat(100_000)}${"]".repeat(100_000)}`), "invalid_event"],
    ["a prototype key", '{"__proto__":{"type":"job.completed"},"v":1,"job_id":"j","event_id":"e","at":"2026-11-22T10:00:00Z","type":"job.cancelled"}', "invalid_event"],
  ])("refuses %s with a reason, without throwing", (_name, body, code) => {
    const { events, rejections } = parseMessageBody(body);
    expect(events).toEqual([]);
    expect(rejections).toHaveLength(1);
    expect(rejections[0]!.code).toBe(code);
    expect(rejections[0]!.message.length).toBeGreaterThan(0);
    expect(rejections[0]!.excerpt!.length).toBeLessThanOrEqual(500);
  });

  it("hints at the envelope when an array of events is sent", () => {
    expect(parse([started(1)]).rejections[0]!.message).toContain('{"v":1,"events":[…]}');
  });
});

describe("ingest: headway replay reads lines with the same parser", () => {
  it("names the line and the real field of a single event", () => {
    const replay = createReplay();
    const error = (() => {
      try {
        replay.applyLine(JSON.stringify(without(started(1), "attempt")), 7);
      } catch (caught) {
        return caught as HeadwayError;
      }
      return null;
    })();
    expect(error).toBeInstanceOf(HeadwayError);
    expect(error!.code).toBe("invalid_event");
    expect(error!.message).toMatch(/^line 7: attempt: /);
    expect(error!.issues.map((issue) => issue.field)).toEqual(["attempt"]);
  });
});

describe("ingest: the fast path and zod answer alike", () => {
  it.each([
    ["an id with a space", started(1, { step: "enc oded" }), "step"],
    ["an id of 129 characters", started(1, { original_id: "f".repeat(129) }), "original_id"],
    ["an hour of 24", started(1, { at: "2026-11-22T24:00:00.000Z" }), "at"],
    ["ten digits of fraction", started(1, { at: "2026-11-22T10:00:00.0000000000Z" }), "at"],
    ["an attempt past 10^6", started(1, { attempt: 1_000_001 }), "attempt"],
    ["an unknown key", started(1, { input: "f1" }), "input"],
  ])("names the field zod names for %s, with zod's message", (_name, event, field) => {
    const zod = Event.safeParse(JSON.parse(JSON.stringify(event)));
    expect(zod.success).toBe(false);
    const { rejections } = parse(event);
    expect(rejections.map((rejection) => rejection.message)).toEqual([describeIssues(issuesOf(zod.error!))]);
    expect(fieldsOf(event)).toEqual([field]);
  });

  it("leaves to zod a text it counts in characters: a message of 1,001 emoji (2,002 UTF-16 units) is taken", () => {
    const event = progress(1, { message: "🙂".repeat(1_001) });
    expect(fastEvent(JSON.parse(JSON.stringify(event)))).toBeUndefined();
    expect(parse(event).events).toHaveLength(1);
  });

  it("returns the parsed events themselves, not copies", () => {
    const candidate = JSON.parse(JSON.stringify(progress(1, { unit: "Bytes" }))) as unknown;
    expect(fastEvent(candidate)).toBe(candidate);
  });
});
