/**
 * The fast path of event validation (core/contract/event-fast-path.ts) against the zod schemas it stands
 * in for: its id check accepts exactly what the contract's pattern accepts, it never accepts an
 * event that `Event` refuses, it accepts every valid event it handles, and ingest answers every
 * message — events, rejections and their messages — exactly as zod alone would. Seeded: `HEADWAY_SEED=<seed>` replays a failure.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Event, EVENT_TYPES, type EventType } from "../core/contract/events.ts";
import { ID_PATTERN, TIMESTAMP_PATTERN } from "../core/contract/fields.ts";
import { describeIssues, issuesOf } from "../core/contract/issues.ts";
import { fastEvent, isId, LEFT_TO_ZOD } from "../core/contract/event-fast-path.ts";
import { parseMessageBody } from "../core/contract/ingest.ts";

const SEED = Number(process.env.HEADWAY_SEED ?? 20_261_130);
const RUNS = 2_000;

/** Characters of ids and their neighbours: ASCII just outside the class, non-ASCII, controls, surrogates. */
const NEAR_ID_CHARS = [..."aZ09._:-", "/", ";", "@", "[", "`", "{", ",", "+", "*", " ", "\n", "\u0000", "é", "\u0130", "\u212a", "٣", "\ud800", "🙂"];
const nearId = fc.oneof(
  fc.string({ unit: fc.constantFrom(...NEAR_ID_CHARS), minLength: 0, maxLength: 10 }),
  fc.tuple(fc.integer({ min: 126, max: 130 }), fc.nat(), fc.constantFrom(...NEAR_ID_CHARS)).map(([length, at, char]) => {
    const text = "a".repeat(length);
    const index = at % length;
    return text.slice(0, index) + char + text.slice(index + 1);
  }),
  fc.constantFrom("", "a", "f1", "job-1", "a".repeat(128), "a".repeat(129), "f1\n"),
);

const pad = (value: number, width: number) => String(value).padStart(width, "0");
/** Timestamps built from fields just inside and just outside their ranges, then perhaps one character changed. */
const nearTimestamp = fc
  .tuple(
    fc.record({
      year: fc.tuple(fc.integer({ min: 0, max: 9999 }), fc.constantFrom(4, 4, 4, 4, 4, 3, 5)),
      month: fc.integer({ min: 0, max: 13 }),
      day: fc.integer({ min: 0, max: 32 }),
      hour: fc.integer({ min: 0, max: 24 }),
      minute: fc.integer({ min: 0, max: 60 }),
      second: fc.integer({ min: 0, max: 60 }),
      fraction: fc.option(fc.string({ unit: fc.constantFrom(..."0123456789"), minLength: 0, maxLength: 11 })),
      zone: fc.oneof(
        { arbitrary: fc.constant("Z"), weight: 4 },
        { arbitrary: fc.constantFrom("z", "", "+0100", "+01", "Z\n", "ZZ"), weight: 1 },
        {
          arbitrary: fc.tuple(fc.constantFrom("+", "-", "−"), fc.integer({ min: 0, max: 24 }), fc.integer({ min: 0, max: 60 })).map(([sign, h, m]) => `${sign}${pad(h, 2)}:${pad(m, 2)}`),
          weight: 2,
        },
      ),
    }),
    // Half of them with one character replaced, inserted or deleted.
    fc.option(fc.tuple(fc.constantFrom("replace", "insert", "delete"), fc.nat(), fc.constantFrom(..."0123456789-:T.Z+ zt\n", "٣", "𝟘")), { freq: 2 }),
  )
  .map(([t, edit]) => {
    const fraction = t.fraction === null ? "" : `.${t.fraction}`;
    const text = `${pad(t.year[0], t.year[1])}-${pad(t.month, 2)}-${pad(t.day, 2)}T${pad(t.hour, 2)}:${pad(t.minute, 2)}:${pad(t.second, 2)}${fraction}${t.zone}`;
    if (edit === null) return text;
    const [op, at, char] = edit;
    const index = at % (text.length + 1);
    if (op === "insert") return text.slice(0, index) + char + text.slice(index);
    return text.slice(0, index) + (op === "replace" ? char : "") + text.slice(index + 1);
  });

describe("event fast path: ids", () => {
  it("accepts exactly the ids the contract's pattern accepts", () => {
    fc.assert(
      fc.property(fc.oneof(nearId, fc.string({ unit: "binary", maxLength: 140 })), (text) => {
        expect(isId(text)).toBe(ID_PATTERN.test(text));
      }),
      { seed: SEED, numRuns: RUNS },
    );
  });

  it("meets both outcomes often: the near-miss timestamps of the event tests are near", () => {
    const samples = fc.sample(nearTimestamp, { seed: SEED, numRuns: 2_000 });
    const accepted = samples.filter((text) => TIMESTAMP_PATTERN.test(text)).length;
    expect(accepted).toBeGreaterThan(200);
    expect(accepted).toBeLessThan(1_800);
  });
});

// ---------------------------------------------------------------- events

type Fields = Record<string, unknown>;
const TYPES: readonly EventType[] = EVENT_TYPES;

/** A valid event of the type, with or without its optional fields (a new event type is a compile error here until it has one). */
function validEventOf(type: EventType, withOptional: boolean, at: string): Fields {
  const common = { v: 1, type, job_id: "job-1", event_id: "e1", at };
  const execution = { ...common, step: "encoded", attempt: 1, ...(withOptional ? { input_id: "f1-t0", original_id: "f1" } : {}) };
  const indicator = { ...common, task_id: "t1", attempt: 0, ...(withOptional ? { label: "étiquette" } : {}) };
  switch (type) {
    case "step.started":
      return execution;
    case "step.progress":
      return { ...execution, progress: [100, withOptional ? 900 : null], ...(withOptional ? { unit: "Bytes", step_index: [0, 2], message: "Übertragung läuft" } : {}) };
    case "step.completed":
      return { ...execution, result_count: 4 };
    case "step.failed":
      return { ...execution, error: "worker lost", will_retry: withOptional };
    case "original.added":
      return { ...common, original_id: "f1", ...(withOptional ? { mime: "video/mp4", source: "upload" } : {}) };
    case "originals.sealed":
      return withOptional ? { ...common, count: 3 } : common;
    case "indicator.added":
    case "indicator.done":
      return { ...indicator, amount: 2.5 };
    case "indicator.reported":
      return { ...indicator, added: 10, done: 4 };
    case "job.declared":
      return { ...common, expect_originals: 2 };
    case "job.completed":
    case "job.failed":
    case "job.cancelled":
      return withOptional ? { ...common, error: "gave up" } : common;
    default: {
      const unknownType: never = type;
      throw new Error(`no valid example of the event type ${String(unknownType)}`);
    }
  }
}
const TEMPLATES = TYPES.flatMap((type) => [validEventOf(type, false, "2026-11-22T10:00:00.000Z"), validEventOf(type, true, "2026-11-22T10:00:00.123456789+05:30")]);

const KEYS = ["v", "type", "job_id", "event_id", "at", "step", "input_id", "original_id", "attempt", "progress", "unit", "step_index", "message", "result_count", "results", "error", "will_retry", "mime", "source", "count", "label", "amount", "task_id", "added", "done", "extra", "__proto__", "constructor"];
/** Texts at the edges of the printable class (C0, DEL, C1, surrogates) and of the lengths (counted in code points). */
const TEXTS = ["", "B", "Bytes", "a b", "a~b", "a\u001fb", "a\u0000b", "a\u007fb", "a\u0085b", "a\u009fb", "a\u00a0b", "a\ud800", "\udc00a", "é".repeat(40), "é".repeat(41), "🙂".repeat(40), "🙂".repeat(41)];
const LONG_TEXTS = [40, 41, 100, 101, 2_000, 2_001, 4_000, 4_001].map((length) => "x".repeat(length));
const ARRAYS = [[1, 2], [1, null], [null, 1], [2, 1], [0, 1], [1, 1], [0, 0], [1], [1, 2, 3], [-1, 1], ["1", 2], [1.5, 2], [0, 1.5], [2 ** 53, 1], [2 ** 53 - 2, 2 ** 53 - 1], {}, [{ result_id: "r1" }], []];
const MIMES = ["video/mp4", "video", "video/*", "*/*", "text/plain;charset=utf-8", "a/b\u0001", "-a/b", "a/-b", "Video/MP4"];
const IDS = ["", "a", "f1", "a".repeat(128), "a".repeat(129), "f1\n", "f 1", "f/1", "f1🙂", ...fc.sample(nearId, { seed: SEED, numRuns: 30 })];
const TIMESTAMPS = ["2026-11-22T10:00:00Z", "2026-11-22T24:00:00Z", "2026-11-22T10:00:00.Z", "2026-11-22 10:00:00Z", "2026-11-22T10:00:00.000", ...fc.sample(nearTimestamp, { seed: SEED, numRuns: 40 })];
/** Values that each fit some field and miss others, most of them by a little. */
const ANY = [undefined, null, true, false, 0, -0, 1, -1, 0.5, 1.5, 2 ** 53, NaN, Infinity, "", "x", "1", [], {}, "step.progress", "job.declared", "step.teleported"];

/** Values near the edge of each field, so that every check meets its own near misses. */
const NEAR: Record<string, readonly unknown[]> = {
  v: [1, 2, 0, "1", true, null],
  type: [...TYPES, "step.teleported", "Step.started", "step.started "],
  at: TIMESTAMPS,
  attempt: [-1, -0, 0, 1, 1e6, 1e6 + 1, 1.5, "1", null],
  result_count: [-1, 0, 1e6, 1e6 + 1, 0.5],
  count: [-1, 0, 1e7, 1e7 + 1, 0.5],
  amount: [-1, -0, 0, 0.5, 1e12, 1e12 + 1, -Infinity],
  added: [-1, 0, 1e15, 1e15 + 1, 0.5],
  done: [-1, 0, 1e15, 1e15 + 1, 0.5],
  progress: ARRAYS,
  step_index: ARRAYS,
  results: ARRAYS,
  unit: [...TEXTS, ...LONG_TEXTS],
  label: [...TEXTS, ...LONG_TEXTS],
  message: [...TEXTS, ...LONG_TEXTS],
  error: [...TEXTS, ...LONG_TEXTS],
  will_retry: [0, 1, "true"],
  mime: MIMES,
  source: ["upload", "import", "Upload", "download"],
};
/** Near misses of a key the event has; a key it lacks is unknown to it whatever its value, so a few values do. */
const nearValuesOf = (event: Fields, key: string): readonly unknown[] =>
  Object.hasOwn(event, key) || key === "input_id" || key === "original_id" ? [...(Object.hasOwn(NEAR, key) ? NEAR[key]! : IDS), ...ANY] : ["x", 1, undefined];

/** The event with `key` set to `value` (an own key even for `__proto__`, as JSON.parse makes it), or removed. */
function edited(event: Fields, key: string, value: unknown, isDelete = false): Fields {
  const result: Fields = { ...event };
  if (isDelete) delete result[key];
  else Object.defineProperty(result, key, { value, enumerable: true, writable: true, configurable: true });
  return result;
}

/** What ingest answered before the fast path: zod alone. */
function zodVerdict(candidate: unknown) {
  const parsed = Event.safeParse(candidate);
  return parsed.success ? { events: [parsed.data], message: null } : { events: [], message: describeIssues(issuesOf(parsed.error)) };
}

/**
 * The fast path on one candidate, as an object and as the JSON text ingest gets: it vouches only
 * for what zod accepts, it vouches for every valid JSON event but declarations and result lists,
 * and ingest answers exactly what zod alone answered.
 */
function expectSameAsZod(candidate: Fields): void {
  const fast = fastEvent(candidate);
  if (fast !== undefined) {
    const parsed = Event.safeParse(candidate);
    expect(parsed.success).toBe(true);
    expect(fast).toStrictEqual(parsed.data);
  }
  const body = JSON.stringify(candidate);
  const json = JSON.parse(body) as Fields;
  const expected = zodVerdict(json);
  if (expected.events.length > 0 && !LEFT_TO_ZOD.has(json.type as EventType) && !("results" in json)) expect(fastEvent(json)).toBe(json);
  const { events, rejections } = parseMessageBody(body);
  expect(events).toStrictEqual(expected.events);
  expect(rejections.map((rejection) => rejection.message)).toEqual(expected.message === null ? [] : [expected.message]);
}

/** A valid event with up to three fields changed, added or removed. */
const nearEvent = fc
  .tuple(fc.constantFrom(...TEMPLATES), fc.array(fc.tuple(fc.constantFrom(...KEYS), fc.nat(), fc.boolean()), { maxLength: 3 }))
  .map(([event, edits]) =>
    edits.reduce((result, [key, pick, isDelete]) => {
      const values = Object.hasOwn(NEAR, key) ? NEAR[key]! : [...IDS, ...ANY];
      return edited(result, key, values[pick % values.length], isDelete);
    }, event),
  );

describe("event fast path: events", () => {
  it("handles every event type of the union, or declares it left to zod", () => {
    for (const type of EVENT_TYPES) {
      for (const withOptional of [false, true]) {
        const event = JSON.parse(JSON.stringify(validEventOf(type, withOptional, "2026-11-22T10:00:00Z"))) as Fields;
        expect(Event.safeParse(event).success, `the test's example of ${type} is valid`).toBe(true);
        const expected = LEFT_TO_ZOD.has(type) ? undefined : event;
        expect(fastEvent(event), `${type}: ${LEFT_TO_ZOD.has(type) ? "declared left to zod, yet the fast path vouches for it" : "neither handled by the fast path nor declared in LEFT_TO_ZOD"}`).toBe(expected);
      }
    }
  });

  it("answers every event with one field missing, added or off by a little as zod does", () => {
    let cases = 0;
    let accepted = 0;
    for (const event of TEMPLATES) {
      expectSameAsZod(event);
      for (const key of KEYS) {
        expectSameAsZod(edited(event, key, undefined, true));
        for (const value of nearValuesOf(event, key)) {
          const candidate = edited(event, key, value);
          expectSameAsZod(candidate);
          cases++;
          if (Event.safeParse(candidate).success) accepted++;
        }
      }
    }
    // Near misses, not noise: a fair share of them is valid.
    expect(accepted / cases).toBeGreaterThan(0.05);
  });

  it("answers events with several fields changed as zod does", () => {
    fc.assert(
      fc.property(nearEvent, (event) => expectSameAsZod(event)),
      { seed: SEED, numRuns: RUNS },
    );
  });

  it("ingests an envelope exactly as zod alone: the same events kept, each bad one refused alone", () => {
    fc.assert(
      fc.property(fc.array(nearEvent, { minLength: 1, maxLength: 6 }), (batch) => {
        const body = JSON.stringify({ v: 1, events: batch });
        const verdicts = (JSON.parse(body) as { events: unknown[] }).events.map(zodVerdict);
        const jobId = verdicts.find((verdict) => verdict.events.length > 0)?.events[0]?.job_id;
        const kept = verdicts.flatMap((verdict) => verdict.events.filter((event) => jobId === undefined || event.job_id === jobId));
        const { events, rejections } = parseMessageBody(body);
        expect(events).toStrictEqual(kept);
        expect(rejections).toHaveLength(batch.length - kept.length);
      }),
      { seed: SEED, numRuns: RUNS / 2 },
    );
  });
});
