import { describe, expect, it } from "vitest";
import { Envelope, Event, Message, Plan } from "../core/contract.ts";
import { issuesOf } from "../core/errors.ts";

const base = { v: 1, job_id: "job-1", event_id: "e1", at: "2026-11-22T10:00:00.000Z" };
const progress = { ...base, type: "step.progress", step: "encoded", original_id: "f1", attempt: 1, progress: [1, 2] };

function fieldsOf(schema: { safeParse(input: unknown): { success: boolean; error?: unknown } }, input: unknown): string[] {
  const result = schema.safeParse(input);
  expect(result.success).toBe(false);
  return issuesOf(result.error as never).map((issue) => issue.field);
}

describe("contract: events", () => {
  it("accepts every event type of DESIGN §3.1", () => {
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
