import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { Event, LIMITS } from "../core/contract.ts";
import { parseMessageBody } from "../core/ingest.ts";
import { compileSafeParse, validateEvent, zodOnlyTypes } from "../core/validate.ts";

const SEED = 1130;
/** Ingest validates what JSON.parse produced, so every generated input goes through JSON first. */
const viaJson = (value: unknown): unknown => JSON.parse(JSON.stringify(value) ?? "null");

/** A parse's answer, or what it threw (zod itself may throw on some plans; the compiled path must then throw alike). */
function outcome<T>(parse: () => z.ZodSafeParseResult<T>): { result: z.ZodSafeParseResult<T> } | { threw: string } {
  try {
    return { result: parse() };
  } catch (error) {
    return { threw: String(error) };
  }
}

const awkward = fc.constantFrom("/", " ", "\u0000", "\n", "é", "😀", "\u200b", "\ud800");
const id = fc.oneof(
  { weight: 10, arbitrary: fc.string({ unit: fc.constantFrom(..."Aa0z9._:-"), minLength: 1, maxLength: 12 }) },
  { weight: 1, arbitrary: fc.string({ unit: fc.oneof(fc.constantFrom("a", "B", "-"), awkward), minLength: 0, maxLength: 4 }) },
  { weight: 1, arbitrary: fc.constantFrom("a".repeat(LIMITS.idChars), "a".repeat(LIMITS.idChars + 1), "constructor", "__proto__") },
);
const timestamp = fc.oneof(
  { weight: 6, arbitrary: fc.date({ min: new Date("1990-01-01"), max: new Date("2200-01-01"), noInvalidDate: true }).map((d) => d.toISOString()) },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      "2026-11-22T10:00:00Z",
      "2026-11-22T10:00:00.123456789+05:30",
      "2026-11-22T10:00:00",
      "2026-11-22 10:00:00Z",
      "2026-02-30T10:00:00Z",
      "2026-13-01T00:00:00Z",
      "2026-11-22T24:00:00Z",
      "1732269600",
      "",
    ),
  },
);
/** Strings around a limit of `max` UTF-16 code units, including astral characters (2 units each). */
const text = (max: number) =>
  fc.oneof(
    { weight: 4, arbitrary: fc.string({ maxLength: 6 }) },
    { weight: 1, arbitrary: fc.constantFrom("", "x".repeat(max), "x".repeat(max + 1), "😀".repeat(Math.floor(max / 2)), "😀".repeat(Math.floor(max / 2) + 1)) },
  );
const count = fc.oneof({ weight: 6, arbitrary: fc.integer({ min: 0, max: 6 }) }, { weight: 1, arbitrary: fc.constantFrom(-1, 0.5, -0, 2 ** 53 - 1, 2 ** 53, 1e21) });
const amount = fc.oneof({ weight: 6, arbitrary: fc.double({ min: 0, max: 1e6, noNaN: true }) }, { weight: 1, arbitrary: fc.constantFrom(-1, 1e12, 1e12 + 1, 1e300) });
const attempt = fc.oneof({ weight: 6, arbitrary: fc.integer({ min: 0, max: 3 }) }, { weight: 1, arbitrary: fc.constantFrom(-1, 1.5, 1_000_000, 1_000_001) });
const mime = fc.oneof({ weight: 4, arbitrary: fc.constantFrom("video/mp4", "image/png", "text/plain") }, { weight: 1, arbitrary: fc.constantFrom("video", "video/", "a b/c", "x/y/z", "*/*") });
const label = fc.oneof(fc.constant(null), text(LIMITS.labelChars));

const common = { v: fc.oneof({ weight: 10, arbitrary: fc.constant(1) }, { weight: 1, arbitrary: fc.constantFrom(2, "1", 1.0000001) }), job_id: id, event_id: id, at: timestamp };
const commonKeys = ["v", "job_id", "event_id", "at"] as const;
const execution = { ...common, step: id, input_id: id, original_id: id, attempt };
const executionKeys = [...commonKeys, "step", "attempt"] as const;

const event = (type: string, fields: Record<string, fc.Arbitrary<unknown>>, requiredKeys: readonly string[]) =>
  fc.record({ type: fc.constant(type), ...fields }, { requiredKeys: ["type", ...requiredKeys] as never });

const events = fc.oneof(
  event(
    "job.declared",
    {
      ...common,
      plan: fc.oneof(
        fc.constant({ steps: { a: { robot: "/image/resize", use: ":original" }, b: { robot: "/s3/store", use: "a" } } }),
        fc.constant({ steps: { a: { robot: "/image/resize", use: "b" }, b: { robot: "/s3/store", use: "a" } } }),
        fc.constant({ steps: { a: { robot: "/s3/store", use: "constructor" } } }),
      ),
      expect_originals: fc.oneof(count, fc.constant("unknown")),
      emit_execution_progress: fc.boolean(),
      notify_url: fc.constantFrom("https://example.com/hook", "ftp://example.com", "not a url"),
    },
    commonKeys,
  ),
  event("original.added", { ...common, original_id: id, mime, source: fc.constantFrom("upload", "import", "other") }, [...commonKeys, "original_id"]),
  event("originals.sealed", { ...common, count }, commonKeys),
  event("step.started", execution, executionKeys),
  event(
    "step.progress",
    {
      ...execution,
      progress: fc.oneof(
        { weight: 6, arbitrary: fc.tuple(fc.integer({ min: 0, max: 1000 }), fc.option(fc.integer({ min: 0, max: 1000 }), { nil: null })) },
        { weight: 1, arbitrary: fc.constantFrom([1], [1, 2, 3], [-1, 2], [1, -2], ["1", 2], null) },
      ),
      unit: text(40),
      step_index: fc.oneof(fc.tuple(count, count), fc.constantFrom([0], [0, 1, 2])),
      message: text(LIMITS.messageChars),
    },
    [...executionKeys, "progress"],
  ),
  event(
    "step.completed",
    {
      ...execution,
      result_count: count,
      results: fc.array(fc.record({ result_id: id, original_id: id, mime }, { requiredKeys: ["result_id"] }), { maxLength: 3 }),
    },
    executionKeys,
  ),
  event("step.failed", { ...execution, error: text(LIMITS.errorChars), will_retry: fc.oneof(fc.boolean(), fc.constant("yes")) }, [...executionKeys, "error", "will_retry"]),
  ...(["indicator.added", "indicator.done"] as const).map((type) =>
    event(type, { ...common, label, amount, task_id: id, attempt }, [...commonKeys, "amount", "task_id", "attempt"]),
  ),
  ...(["job.completed", "job.failed", "job.cancelled"] as const).map((type) => event(type, { ...common, error: text(LIMITS.errorChars) }, commonKeys)),
);

/** Valid-looking events, then broken ones: a key dropped, an unknown key, a value replaced by any JSON, another or no type. */
const inputs = fc.oneof(
  { weight: 6, arbitrary: events },
  {
    weight: 4,
    arbitrary: fc.tuple(events, fc.nat(), fc.jsonValue({ maxDepth: 2 }), fc.constantFrom("drop", "extra", "replace", "type")).map(([base, index, value, how]) => {
      const broken: Record<string, unknown> = { ...base };
      const keys = Object.keys(broken);
      const key = keys[index % keys.length]!;
      if (how === "drop") delete broken[key];
      if (how === "extra") broken[["orginals", "results_per_inpt", "__proto__", "constructor"][index % 4]!] = value;
      if (how === "replace") broken[key] = value;
      if (how === "type") broken.type = ["step.progres", "indicator.reported", "toString", ""][index % 4];
      return broken;
    }),
  },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 2 }) },
);

describe("the compiled event validator", () => {
  it("accepts exactly what the zod schema accepts, with the same data, and refuses with zod's own issues", () => {
    let fast = 0;
    let accepted = 0;
    fc.assert(
      fc.property(inputs, (generated) => {
        const input = viaJson(generated);
        const expectedOutcome = outcome(() => Event.safeParse(input));
        const actualOutcome = outcome(() => validateEvent(input));
        if ("threw" in expectedOutcome || "threw" in actualOutcome) {
          expect(actualOutcome).toEqual(expectedOutcome);
          return;
        }
        const [expected, actual] = [expectedOutcome.result, actualOutcome.result];
        expect(actual.success).toBe(expected.success);
        if (actual.success && expected.success) {
          accepted++;
          if (actual.data === input) fast++;
          expect(actual.data).toEqual(expected.data);
        } else {
          expect(actual.error!.issues).toEqual(expected.error!.issues);
        }
      }),
      { seed: SEED, numRuns: 5_000 },
    );
    // The law above is only interesting if both paths were taken.
    expect(fast).toBeGreaterThan(500);
    expect(accepted - fast).toBeGreaterThan(50); // e.g. unknown keys, which zod strips
  });

  it("checks what JSON Schema cannot say: step_index i < n and result_count against results", () => {
    const base = { v: 1, job_id: "j", event_id: "e1", at: "2026-11-22T10:00:00Z", step: "s", original_id: "f1", attempt: 1 };
    expect(validateEvent({ ...base, type: "step.progress", progress: [1, 2], step_index: [1, 2] }).success).toBe(true);
    expect(validateEvent({ ...base, type: "step.progress", progress: [1, 2], step_index: [2, 2] }).success).toBe(false);
    expect(validateEvent({ ...base, type: "step.completed", results: [{ result_id: "r" }], result_count: 2 }).success).toBe(false);
    expect(validateEvent({ ...base, type: "step.completed" }).success).toBe(false);
  });

  it("counts string lengths in code points as zod does (40 emoji fit a limit of 40, 41 do not)", () => {
    const base = { v: 1, type: "step.progress", job_id: "j", event_id: "e1", at: "2026-11-22T10:00:00Z", step: "s", attempt: 1, progress: [1, 2] };
    expect(validateEvent({ ...base, unit: "😀".repeat(40) }).success).toBe(true);
    expect(validateEvent({ ...base, unit: "😀".repeat(41) }).success).toBe(false);
    expect(validateEvent({ ...base, unit: "x".repeat(41) }).success).toBe(false);
  });

  it("names the field when it refuses, as zod does", () => {
    const result = validateEvent({ v: 1, type: "step.progress", job_id: "j", event_id: "e1", at: "2026-11-22T10:00:00Z", step: "s", attempt: 1, progress: [1, 2], step_index: [3, 2] });
    expect(result.success).toBe(false);
    expect(result.error!.issues[0]!.path).toEqual(["step_index"]);
  });

  it("leaves to zod alone the types whose rules JSON Schema cannot carry (the plan graph of job.declared)", () => {
    expect([...zodOnlyTypes.keys()]).toEqual(["job.declared"]);
  });
});

describe("compileSafeParse (envelopes)", () => {
  const LooseEnvelope = z.object({ v: z.literal(1), events: z.array(z.unknown()).min(1).max(LIMITS.eventsPerEnvelope) });
  const parse = compileSafeParse(LooseEnvelope);

  it("answers as the schema's safeParse for generated envelopes and non-envelopes", () => {
    const envelope = fc.record(
      { v: fc.constantFrom(1, 2, "1"), events: fc.oneof(fc.array(fc.jsonValue({ maxDepth: 1 }), { maxLength: 3 }), fc.constant(Array.from({ length: 501 }, () => ({}))), fc.jsonValue({ maxDepth: 1 })), extra: fc.jsonValue({ maxDepth: 1 }) },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(fc.oneof(envelope, fc.jsonValue({ maxDepth: 2 })), (generated) => {
        const input = viaJson(generated);
        const expected = LooseEnvelope.safeParse(input);
        const actual = parse(input);
        expect(actual.success).toBe(expected.success);
        if (actual.success && expected.success) expect(actual.data).toEqual(expected.data);
        else expect(actual.error!.issues).toEqual(expected.error!.issues);
      }),
      { seed: SEED, numRuns: 1_000 },
    );
  });
});

describe("ingest with the compiled validator", () => {
  it("rejects a bad event of an envelope alone, naming its index and field, and keeps its neighbours as parsed", () => {
    const good = { v: 1, type: "step.progress", job_id: "j", event_id: "e1", at: "2026-11-22T10:00:00Z", step: "s", attempt: 1, progress: [1, 2] };
    const bad = { ...good, event_id: "e2", progress: [1, -2] };
    const last = { ...good, event_id: "e3", progress: [2, 2] };
    const { events, rejections } = parseMessageBody(JSON.stringify({ v: 1, events: [good, bad, last] }));
    expect(events).toEqual([good, last]);
    expect(rejections).toHaveLength(1);
    expect(rejections[0]).toMatchObject({ code: "invalid_event", jobId: "j" });
    expect(rejections[0]!.reason).toMatch(/^events\[1\]\.progress\[1\]: /);
    expect(rejections[0]!.excerpt).toBe(JSON.stringify(bad));
  });
});
