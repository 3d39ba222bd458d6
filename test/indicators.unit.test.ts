import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { Event } from "../core/contract/events.ts";
import { LIMITS } from "../core/contract/fields.ts";
import { applyEvents } from "../core/estimator/fold.ts";
import { createJobState } from "../core/estimator/state.ts";
import { eventFactory } from "./support/events.ts";
import { snapshotAfterEach, snapshotOf } from "./support/fold.ts";

function reported(e: ReturnType<typeof eventFactory>, task: string, added: number, done: number, fields: { attempt?: number; label?: string; event_id?: string } = {}): Event {
  const base = e.added(0, task); // borrow a unique id and time from the factory
  return { v: 1, type: "indicator.reported", job_id: base.job_id, event_id: fields.event_id ?? base.event_id, at: base.at, task_id: task, attempt: fields.attempt ?? 1, added, done, ...(fields.label === undefined ? {} : { label: fields.label }) };
}

describe("indicator.reported", () => {
  it("is part of the contract: running totals, never negative", () => {
    const e = eventFactory();
    expect(Event.safeParse(reported(e, "t1", 10, 4, { label: "tiles" })).success).toBe(true);
    expect(Event.safeParse({ ...reported(e, "t1", 10, 4), done: -1 }).success).toBe(false);
    expect(Event.safeParse({ ...reported(e, "t1", 10, 4), label: "x".repeat(101) }).success).toBe(false);
  });

  it("keeps the largest running totals of a task attempt, whatever the order and duplication", () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat(100), fc.nat(100)), { minLength: 1, maxLength: 12 }), fc.array(fc.nat(), { maxLength: 24 }), (totals, picks) => {
        const e = eventFactory();
        const events = totals.map(([added, done]) => reported(e, "t1", added, done));
        const shuffled = [...events, ...picks.map((pick) => events[pick % events.length]!)].sort((a, b) => (a.event_id < b.event_id ? -1 : 1)).reverse();
        const expected = { label: null, total: Math.max(...totals.map(([added]) => added)), done: Math.max(...totals.map(([, done]) => done)) };
        expect(snapshotOf(events).indicators).toEqual([expected]);
        expect(snapshotOf(shuffled).indicators).toEqual([expected]);
      }),
      { seed: 12, numRuns: 200 },
    );
  });

  it("adds the deltas of the same attempt on top of its largest report", () => {
    const e = eventFactory();
    const snapshot = snapshotOf([reported(e, "t1", 10, 3), e.added(5, "t1"), e.done(2, "t1"), reported(e, "t1", 8, 6), e.done(1, "t2"), e.added(4, "t2")]);
    expect(snapshot.indicators).toEqual([{ label: null, total: 10 + 5 + 4, done: 6 + 2 + 1 }]);
  });

  it("counts only the highest attempt of a task, reports and deltas alike", () => {
    const e = eventFactory();
    const snapshot = snapshotOf([reported(e, "t1", 10, 9), e.done(5, "t1"), reported(e, "t1", 10, 1, { attempt: 2 }), reported(e, "t1", 10, 10, { attempt: 1 }), e.done(5, "t1")]);
    expect(snapshot.indicators).toEqual([{ label: null, total: 10, done: 1 }]);
  });
});

describe("memory of event ids per task attempt", () => {
  it(`rejects the ${LIMITS.eventIdsPerTaskAttempt + 1}st new delta of an attempt with a code that names indicator.reported, and still ignores duplicates`, () => {
    const e = eventFactory();
    const state = createJobState("job-1");
    const deltas = Array.from({ length: LIMITS.eventIdsPerTaskAttempt }, () => e.done(1, "t1"));
    expect(applyEvents(state, [reported(e, "t1", 5000, 0), ...deltas])).toEqual([]);
    const [rejection, ...others] = applyEvents(state, [e.done(1, "t1"), deltas[0]!, deltas[999]!, e.done(1, "t2")]);
    expect(others).toEqual([]);
    expect(rejection?.code).toBe("too_many_indicator_events");
    expect(rejection?.message).toContain("indicator.reported");
    // Reports still count, and a new attempt starts a new memory.
    expect(applyEvents(state, [reported(e, "t1", 5000, 4000), e.done(1, "t1", { attempt: 2 })])).toEqual([]);
  });

  it("recognises a duplicate of a long event id (kept as a hash)", () => {
    const e = eventFactory();
    const long = "x".repeat(120);
    const snapshot = snapshotOf([e.added(10, "t1"), e.done(3, "t1", { event_id: long }), e.done(3, "t1", { event_id: long }), e.done(3, "t1", { event_id: `${long.slice(1)}y` })]);
    expect(snapshot.indicators).toEqual([{ label: null, total: 10, done: 6 }]);
  });
});

describe("counted work (indicators)", () => {
  it("pools done and total over every label and task", () => {
    const e = eventFactory();
    const snapshot = snapshotOf([
      e.added(10, "t1"),
      e.done(3, "t1"),
      e.added(4, "t2", { label: "step1" }),
      e.done(4, "t2", { label: "step1" }),
    ]);
    expect(snapshot.indicators).toEqual([
      { label: null, done: 3, total: 10 },
      { label: "step1", done: 4, total: 4 },
    ]);
    expect(snapshot.progress_combined).toBe(50);
    expect(snapshot.status).toBe("executing");
  });

  it("counts only the last execution of a retried task", () => {
    const e = eventFactory();
    const snapshot = snapshotOf([
      e.added(10, "t1"),
      e.done(7, "t1"),
      e.added(10, "t1", { attempt: 2 }),
      e.done(2, "t1", { attempt: 2 }),
      e.done(5, "t1", { attempt: 1 }),
    ]);
    expect(snapshot.indicators).toEqual([{ label: null, done: 2, total: 10 }]);
  });

  it("lets a task's higher attempt replace what lower attempts reported under every label", () => {
    const e = eventFactory();
    const events = [
      e.reported("t1", 2, 1, { label: "a" }),
      e.added(2, "t2", { label: "a" }),
      e.reported("t1", 2, 0, { label: "b", attempt: 2 }),
      e.reported("t1", 5, 5, { label: "c" }), // a late report of the first attempt
    ];
    const expected = [
      { label: "a", done: 0, total: 2 },
      { label: "b", done: 0, total: 2 },
      { label: "c", done: 0, total: 0 },
    ];
    expect(snapshotOf(events).indicators).toEqual(expected);
    expect(snapshotAfterEach(events).indicators).toEqual(expected);
    expect(snapshotAfterEach([...events].reverse()).indicators).toEqual(expected);
    expect(snapshotOf(events).progress_combined).toBe(0);
  });

  it("adds the amounts of one attempt, counting each event id once", () => {
    const e = eventFactory();
    const twice = e.done(2, "t1");
    const snapshot = snapshotOf([e.added(10, "t1"), twice, twice, e.done(3, "t1")]);
    expect(snapshot.indicators).toEqual([{ label: null, done: 5, total: 10 }]);
  });

  it("reaches 100 when done equals a positive total", () => {
    const e = eventFactory();
    expect(snapshotOf([e.added(2, "t1"), e.done(2, "t1")]).progress_combined).toBe(100);
    const f = eventFactory();
    expect(snapshotOf([f.declared({})]).progress_combined).toBeNull();
  });

  it("refuses a job's 1,001st label and keeps the rest", async () => {
    const { foldEvents } = await import("../core/estimator/reduce.ts");
    const { applyEvents } = await import("../core/estimator/fold.ts");
    const e = eventFactory();
    const state = foldEvents("job-1", Array.from({ length: 1000 }, (_, i) => e.added(1, "t", { label: `l${i}` })), 0);
    const rejections = applyEvents(state, [e.added(1, "t", { label: "one-too-many" }), e.added(1, "t2", { label: "l1" })]);
    expect(rejections.map((r) => r.code)).toEqual(["too_many_labels"]);
    const { labelCount } = await import("../core/estimator/indicators.ts");
    expect(labelCount(state)).toBe(1000);
  });
});
