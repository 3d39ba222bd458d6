import { describe, expect, it } from "vitest";
import { CreateJobRequest } from "../core/contract/http.ts";
import { Envelope, Event, Message } from "../core/contract/events.ts";
import { Plan } from "../core/contract/plan.ts";
import { compilePlan } from "../core/estimator/plan.ts";
import { issuesOf } from "../core/contract/issues.ts";

const base = { v: 1, job_id: "job-1", event_id: "e1", at: "2026-11-22T10:00:00.000Z" };
const progress = { ...base, type: "step.progress", step: "encoded", original_id: "f1", attempt: 1, progress: [1, 2] };

function fieldsOf(schema: { safeParse(input: unknown): { success: boolean; error?: unknown } }, input: unknown): string[] {
  const result = schema.safeParse(input);
  expect(result.success).toBe(false);
  return issuesOf(result.error as never).map((issue) => issue.field);
}

describe("contract: events", () => {
  it("accepts every event type of docs/events.md", () => {
    const events = [
      { ...base, type: "job.declared", plan: { steps: { a: { robot: "/s3/store", use: ":original" } } }, expect_originals: "unknown", emit_execution_progress: true, notify_url: "https://example.com/hook" },
      { ...base, type: "original.added", original_id: "f1", mime: "video/mp4", source: "upload" },
      { ...base, type: "originals.sealed" },
      { ...base, type: "step.started", step: "a", attempt: 0 },
      { ...progress, progress: [5, null], unit: "Bytes", step_index: [0, 2], message: "Transfer retried" },
      { ...base, type: "step.completed", step: "a", attempt: 1, results: [{ result_id: "r1", mime: "image/png" }] },
      { ...base, type: "step.failed", step: "a", attempt: 1, error: "boom", will_retry: false },
      { ...base, type: "indicator.added", label: "tiles", amount: 3, task_id: "t1", attempt: 1 },
      { ...base, type: "indicator.done", amount: 1, task_id: "t1", attempt: 1 },
      { ...base, type: "job.completed" },
      { ...base, type: "job.failed", error: "x" },
      { ...base, type: "job.cancelled" },
    ];
    for (const event of events) expect(Event.safeParse(event).error).toBeUndefined();
  });

  it("names the offending field of a bad event", () => {
    expect(fieldsOf(Event, { ...progress, progress: [1, -2] })).toEqual(["progress[1]"]);
    expect(fieldsOf(Event, { ...progress, job_id: "has space" })).toEqual(["job_id"]);
    expect(fieldsOf(Event, { ...progress, job_id: "x".repeat(129) })).toEqual(["job_id"]);
    expect(fieldsOf(Event, { ...progress, at: "yesterday" })).toEqual(["at"]);
    expect(fieldsOf(Event, { ...progress, v: 2 })).toEqual(["v"]);
    expect(fieldsOf(Event, { ...progress, attempt: 1.5 })).toEqual(["attempt"]);
    expect(fieldsOf(Event, { ...progress, step_index: [2, 2] })).toEqual(["step_index"]);
    expect(fieldsOf(Event, { ...base, type: "indicator.added", amount: 1, task_id: "t", attempt: 1, label: "l".repeat(101) })).toEqual(["label"]);
    expect(fieldsOf(Event, { ...base, type: "step.completed", step: "a", attempt: 1 })).toEqual(["result_count"]);
    expect(fieldsOf(Event, { ...base, type: "nope" })).toEqual(["type"]);
  });

  it("accepts null totals but never negative ones", () => {
    expect(Event.safeParse({ ...progress, progress: [0, null] }).success).toBe(true);
    expect(fieldsOf(Event, { ...progress, progress: [-1, 10] })).toEqual(["progress[0]"]);
  });

  it("takes envelopes of up to 500 events of one job", () => {
    const events = Array.from({ length: 500 }, (_, i) => ({ ...progress, event_id: `e${i}` }));
    expect(Message.safeParse({ v: 1, events }).success).toBe(true);
    expect(fieldsOf(Envelope, { v: 1, events: [...events, progress] })).toEqual(["events"]);
    expect(fieldsOf(Envelope, { v: 1, events: [progress, { ...progress, job_id: "other" }] })).toEqual(["events[1].job_id"]);
    expect(fieldsOf(Envelope, { v: 1, events: [progress, { ...progress, progress: "half" }] })).toEqual(["events[1].progress"]);
  });
});

describe("contract: plan", () => {
  it("names a use of an unknown step", () => {
    expect(fieldsOf(Plan, { steps: { a: { robot: "/s3/store", use: ["b"] } } })).toEqual(["steps.a.use[0]"]);
    const result = Plan.safeParse({ steps: { a: { robot: "/s3/store", use: "ghost" } } });
    expect(result.error?.issues[0]?.message).toContain('unknown step "ghost"');
  });

  it("names the steps of a cycle", () => {
    const result = Plan.safeParse({ steps: { a: { robot: "/x", use: "c" }, b: { robot: "/x", use: "a" }, c: { robot: "/x", use: "b" } } });
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]?.message).toMatch(/cycle: [abc] → [abc] → [abc] → [abc]/);
  });

  it("refuses more than 200 steps", () => {
    const steps = Object.fromEntries(Array.from({ length: 201 }, (_, i) => [`s${i}`, { robot: "/s3/store", use: ":original" }]));
    expect(fieldsOf(Plan, { steps })).toEqual(["steps"]);
  });

  it("refuses a bad results_per_input, accepts pattern or weight", () => {
    expect(fieldsOf(Plan, { steps: { a: { robot: "/x", use: ":original", results_per_input: "many" } } })).toEqual(["steps.a.results_per_input"]);
    expect(fieldsOf(Plan, { steps: { a: { robot: "/x", use: ":original", accepts: ["video"] } } })).toEqual(["steps.a.accepts[0]"]);
    expect(fieldsOf(Plan, { steps: { a: { robot: "/x", use: ":original", weight: 0 } } })).toEqual(["steps.a.weight"]);
  });
});

describe("contract: unknown keys", () => {
  const messagesOf = (schema: { safeParse(input: unknown): { success: boolean; error?: unknown } }, input: unknown) => {
    const result = schema.safeParse(input);
    expect(result.success).toBe(false);
    return issuesOf(result.error as never).map((issue) => `${issue.field}: ${issue.message}`);
  };

  it("refuses a misspelt step key and suggests the known one", () => {
    const job = { plan: { steps: { a: { robot: "/image/resize", use: ":original", results_per_inpt: 2 } } } };
    expect(messagesOf(CreateJobRequest, job)).toEqual(["plan.steps.a.results_per_inpt: unknown key results_per_inpt: did you mean results_per_input?"]);
  });

  it("refuses a misspelt top-level key of a job, over HTTP and on the queue", () => {
    expect(messagesOf(CreateJobRequest, { orginals: [{ original_id: "f1" }] })).toEqual(["orginals: unknown key orginals: did you mean originals?"]);
    expect(messagesOf(Event, { ...base, type: "job.declared", orginals: [] })).toEqual(["orginals: unknown key orginals: did you mean originals?"]);
    expect(messagesOf(Event, { ...base, type: "job.declared", plan: { stpes: {} } })).toEqual(["plan.stpes: unknown key stpes: did you mean steps?"]);
    expect(messagesOf(Event, { ...base, type: "job.declared", originals: [{ original_id: "f1", mim: "video/mp4" }] })).toEqual(["originals[0].mim: unknown key mim: did you mean mime?"]);
  });

  it("refuses a near miss of Headway's own step keys, and takes any other key as a robot parameter", () => {
    expect(messagesOf(Plan, { steps: { a: { robot: "/x", use: ":original", wieght: 2, colour: "red", resuls_per_input: 1 } } })).toEqual([
      "steps.a.wieght: unknown key wieght: did you mean weight?",
      "steps.a.resuls_per_input: unknown key resuls_per_input: did you mean results_per_input?",
    ]);
  });

  it("never refuses a Transloadit parameter for resembling a Headway key", () => {
    const step = { robot: "/image/resize", use: ":original", height: 400, width: 400, user: "me", output_meta: { has_transparency: true } };
    expect((Plan.parse({ steps: { a: step } }).steps.a as Record<string, unknown>).height).toBe(400);
  });

  it("takes the robot parameters the catalogue reads", () => {
    expect(Plan.safeParse({ steps: { t: { robot: "/document/thumbs", use: ":original", page: 1 }, i: { robot: "/s3/import", path: "in/" }, v: { robot: "/video/thumbs", use: ":original", count: 4 } } }).success).toBe(true);
  });

  it("refuses unknown keys in events and envelopes too", () => {
    expect(messagesOf(Event, { ...progress, input_ids: "x" })).toEqual(["input_ids: unknown key input_ids: did you mean input_id?"]);
    expect(messagesOf(Envelope, { v: 1, events: [progress], job: "job-1" })).toEqual(["job: unknown key job (known keys: v, events)"]);
  });

  it("shows a hostile key quoted and cut, never raw", () => {
    const [message] = messagesOf(Event, JSON.parse(`{"v":1,"type":"job.cancelled","job_id":"j","event_id":"e","at":"2026-11-22T10:00:00Z","a\\u0000${"b".repeat(100)}":1}`));
    expect(message).toMatch(/^\["a\\u0000b+…"\]: unknown key "a\\u0000b+…"/);
    expect(message).not.toContain("\u0000");
  });
});

describe("contract: hostile plans", () => {
  it.each([["constructor"], [["__proto__"]], ["toString"], ["hasOwnProperty"], [["valueOf", ":original"]]])("refuses use %j of a step the plan lacks, naming the field", (use) => {
    const fields = fieldsOf(Plan, JSON.parse(JSON.stringify({ steps: { a: { robot: "/x", use } } })));
    expect(fields).toEqual([Array.isArray(use) ? "steps.a.use[0]" : "steps.a.use"]);
  });

  it("takes steps named like Object.prototype members when they are declared", () => {
    const plan = Plan.safeParse({ steps: { constructor: { robot: "/x", use: ":original" }, toString: { robot: "/y", use: "constructor" } } });
    expect(plan.success).toBe(true);
    expect(compilePlan(plan.data!).steps.map((step) => [step.name, step.uses])).toEqual([["constructor", [-1]], ["toString", [0]]]);
  });

  it("refuses a step named __proto__ as unknown when it is used (JSON parsers and zod drop that key)", () => {
    const plan = JSON.parse('{"steps":{"__proto__":{"robot":"/x","use":":original"},"b":{"robot":"/y","use":"__proto__"}}}');
    expect(fieldsOf(Plan, plan)).toEqual(["steps.b.use"]);
  });

  it("refuses a use on :original, which stands for the uploads themselves", () => {
    expect(fieldsOf(Plan, { steps: { ":original": { robot: "/upload/handle", use: "a" }, a: { robot: "/x", use: ":original" } } })).toEqual(["steps.:original.use"]);
  });

  it("refuses a plan whose fan-out would predict more than 10^9 executions per file", () => {
    const chain = Object.fromEntries(Array.from({ length: 12 }, (_, i) => [`s${i}`, { robot: "/x", use: i === 0 ? ":original" : `s${i - 1}`, results_per_input: 10 }]));
    expect(fieldsOf(Plan, { steps: chain })).toEqual(["steps.s10.use"]);
    const doubling = Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`s${i}`, { robot: "/x", use: i === 0 ? ":original" : Array.from({ length: i }, (_, j) => `s${j}`) }]));
    expect(fieldsOf(Plan, { steps: doubling })[0]).toMatch(/^steps\.s\d+\.use$/);
  });

  it("compiles even a plan that slipped past the contract (unknown uses, a cycle) instead of throwing", () => {
    const unchecked = { steps: { a: { robot: "/x", use: ["constructor", "c"] }, b: { robot: "/x", use: "a" }, c: { robot: "/x", use: "b" } } } as unknown as Plan;
    const compiled = compilePlan(unchecked);
    expect(compiled.steps.map((step) => step.name).sort()).toEqual(["a", "b", "c"]);
    for (const step of compiled.steps) for (const used of step.uses) expect(used).toBeLessThan(step.index);
  });
});

describe("contract: characters and numbers", () => {
  const indicator = { ...base, type: "indicator.added", amount: 1, task_id: "t", attempt: 1 };

  it.each([
    ["a label with U+0000 (labels are joined with U+0000 in storage keys)", { ...indicator, label: "a\u0000b" }, "label"],
    ["a label with a newline", { ...indicator, label: "a\nb" }, "label"],
    ["a label with an unpaired surrogate", { ...indicator, label: "a\ud800" }, "label"],
    ["a MIME type with a control character", { ...base, type: "original.added", original_id: "f1", mime: "video/mp4\u0001" }, "mime"],
    ["a MIME type with parameters", { ...base, type: "original.added", original_id: "f1", mime: "text/plain;charset=utf-8" }, "mime"],
    ["a unit with a control character", { ...progress, unit: "By\u007ftes" }, "unit"],
    ["a step name with a control character", { ...progress, step: "enc\u0000oded" }, "step"],
    ["a task id with a space", { ...indicator, task_id: "t 1" }, "task_id"],
  ])("refuses %s", (_name, event, field) => {
    expect(fieldsOf(Event, event)).toEqual([field]);
  });

  it("takes labels of 100 non-ASCII characters, emoji counted as one", () => {
    expect(Event.safeParse({ ...indicator, label: "é".repeat(100) }).success).toBe(true);
    expect(Event.safeParse({ ...indicator, label: "🙂".repeat(100) }).success).toBe(true);
    expect(fieldsOf(Event, { ...indicator, label: "é".repeat(101) })).toEqual(["label"]);
  });

  it("refuses a robot name with a control character", () => {
    expect(fieldsOf(Plan, { steps: { a: { robot: "/x\u0000", use: ":original" } } })).toEqual(["steps.a.robot"]);
  });

  it.each([
    ["an amount of 1e400 (Infinity once parsed)", `{"v":1,"type":"indicator.done","job_id":"j","event_id":"e","at":"2026-11-22T10:00:00Z","task_id":"t","attempt":1,"amount":1e400}`, "amount"],
    ["an amount past 10^12", `{"v":1,"type":"indicator.done","job_id":"j","event_id":"e","at":"2026-11-22T10:00:00Z","task_id":"t","attempt":1,"amount":1e13}`, "amount"],
    ["a progress of 1e400", `{"v":1,"type":"step.progress","job_id":"j","event_id":"e","at":"2026-11-22T10:00:00Z","step":"a","attempt":1,"progress":[1e400,1]}`, "progress[0]"],
    ["a progress total past 2^53", `{"v":1,"type":"step.progress","job_id":"j","event_id":"e","at":"2026-11-22T10:00:00Z","step":"a","attempt":1,"progress":[1,1e17]}`, "progress[1]"],
    ["a result_count past 10^6", `{"v":1,"type":"step.completed","job_id":"j","event_id":"e","at":"2026-11-22T10:00:00Z","step":"a","attempt":1,"result_count":1000001}`, "result_count"],
    ["an attempt of 1e400", `{"v":1,"type":"step.started","job_id":"j","event_id":"e","at":"2026-11-22T10:00:00Z","step":"a","attempt":1e400}`, "attempt"],
    ["an expect_originals past 2^53", `{"v":1,"type":"job.declared","job_id":"j","event_id":"e","at":"2026-11-22T10:00:00Z","expect_originals":1e20}`, "expect_originals"],
    ["a weight of 1e400", `{"v":1,"type":"job.declared","job_id":"j","event_id":"e","at":"2026-11-22T10:00:00Z","plan":{"steps":{"a":{"robot":"/x","use":":original","weight":1e400}}}}`, "plan.steps.a.weight"],
    ["a results_per_input past 10^6", `{"v":1,"type":"job.declared","job_id":"j","event_id":"e","at":"2026-11-22T10:00:00Z","plan":{"steps":{"a":{"robot":"/x","use":":original","results_per_input":2e6}}}}`, "plan.steps.a.results_per_input"],
  ])("refuses %s", (_name, text, field) => {
    expect([...new Set(fieldsOf(Event, JSON.parse(text)))]).toEqual([field]);
  });
});
