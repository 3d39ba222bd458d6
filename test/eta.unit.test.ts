import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { observeJob, simulateJob } from "../bench/eta.ts";
import type { Event } from "../core/contract.ts";
import { decodeEta, encodeEta, MAX_ELAPSED_FACTOR, MAX_SECONDS, updateEta } from "../core/eta.ts";
import { reduce } from "../core/estimator.ts";
import { renderSnapshot } from "../core/snapshot.ts";
import { createJobState, type EtaState } from "../core/state.ts";
import { eventFactory } from "./support/events.ts";

const SEED = 20261130;
const T0 = Date.parse("2026-11-22T10:00:00.000Z");
const at = (seconds: number) => new Date(T0 + seconds * 1000).toISOString();

/** Commits after each event at the event's own time, as `headway replay` does; returns each snapshot's eta_seconds. */
function etasOf(events: readonly Event[]): (number | null)[] {
  const state = createJobState(events[0]!.job_id);
  return events.map((event) => {
    reduce(state, [event], Date.parse(event.at));
    return renderSnapshot(state).eta_seconds;
  });
}

const freshEta = (): EtaState => createJobState("j").eta;

describe("eta_seconds is never absurd", () => {
  const e = eventFactory();
  const plan = { encoded: { robot: "/video/encode", use: ":original" } };
  const start = [
    e.plan(plan, { at: at(0) }),
    e.original("f1", "video/mp4", { at: at(0) }),
    e.sealed(),
  ].map((event) => ({ ...event, at: at(0) }));

  it("shows null, not 48,000 years, for one report at 40 % and another event three minutes later", () => {
    const etas = etasOf([
      ...start,
      e.started("encoded", "f1", 1, { at: at(0.5) }),
      e.progress("encoded", "f1", [40, 100], { at: at(1) }),
      e.progress("encoded", "f1", [40, 100], { at: at(181), event_id: "late" }),
    ]);
    expect(etas.at(-1)).toBeNull();
    expect(etas.every((eta) => eta === null || eta < 3600)).toBe(true);
  });

  it("shows null for the same job when the late event is of another kind (an indicator)", () => {
    const etas = etasOf([...start, e.progress("encoded", "f1", [40, 100], { at: at(1) }), e.added(5, "t1", { at: at(181) })]);
    expect(etas.at(-1)).toBeNull();
  });

  it("shows null while nothing has progressed", () => {
    const etas = etasOf([...start, e.started("encoded", "f1", 1, { at: at(1) }), e.progress("encoded", "f1", [0, 100], { at: at(30) }), e.progress("encoded", "f1", [0, 100], { at: at(90) })]);
    expect(etas).toEqual(etas.map(() => null));
  });

  it("shows null once progress has stalled for over a minute, and a value again when it resumes", () => {
    const steady = Array.from({ length: 20 }, (_, i) => e.progress("encoded", "f1", [i + 1, 100], { at: at(i + 1) }));
    const stalled = e.progress("encoded", "f1", [20, 100], { at: at(100), event_id: "same-again" });
    const resumed = [21, 22, 23].map((value, i) => e.progress("encoded", "f1", [value, 100], { at: at(101 + i) }));
    const etas = etasOf([...start, ...steady, stalled, ...resumed]);
    expect(etas[start.length + 19]).toBeGreaterThan(60); // 80 % left at 1 %/s
    expect(etas[start.length + 19]).toBeLessThan(100);
    expect(etas[start.length + 20]).toBeNull();
    expect(etas.at(-1)).not.toBeNull();
  });

  it("gives 0 once the job is finished", () => {
    const etas = etasOf([...start, e.progress("encoded", "f1", [50, 100], { at: at(5) }), e.completed("encoded", "f1", { at: at(10) })]);
    expect(etas.at(-1)).toBe(0);
  });

  it("gives 0 once job.completed arrives, whatever the rate", () => {
    const etas = etasOf([...start, e.progress("encoded", "f1", [1, 100], { at: at(5) }), { ...e.jobCompleted(), at: at(6) }]);
    expect(etas.at(-1)).toBe(0);
  });

  it("never shows more than MAX_ELAPSED_FACTOR times the time observed, nor MAX_SECONDS (any rate history)", () => {
    const step = fc.record({ dtMs: fc.integer({ min: 0, max: 600_000 }), fraction: fc.option(fc.double({ min: 0, max: 1, noNaN: true }), { freq: 8 }) });
    fc.assert(
      fc.property(fc.array(step, { minLength: 1, maxLength: 60 }), (steps) => {
        const eta = freshEta();
        let nowMs = T0;
        for (const { dtMs, fraction } of steps) {
          nowMs += dtMs;
          updateEta(eta, nowMs, fraction, false);
          if (eta.seconds === null) continue;
          expect(Number.isInteger(eta.seconds)).toBe(true);
          expect(eta.seconds).toBeGreaterThan(0);
          expect(eta.seconds).toBeLessThanOrEqual(Math.min(MAX_SECONDS, (MAX_ELAPSED_FACTOR * (nowMs - eta.firstMs!)) / 1000));
        }
      }),
      { seed: SEED, numRuns: 500 },
    );
  });
});

describe("eta_seconds is accurate on steady work", () => {
  it("is within 25 % of the true remaining time at 50 % done, for simulated steady jobs", () => {
    for (const seed of [1, 2, 3, 4, 5]) {
      const job = simulateJob("steady", seed);
      const half = observeJob(job).find((observation) => observation.displayed !== null && observation.displayed >= 50)!;
      expect(half.etaSeconds).not.toBeNull();
      expect(Math.abs(half.etaSeconds! - half.trueRemainingSeconds) / half.trueRemainingSeconds).toBeLessThan(0.25);
    }
  });

  it("counts time, not reports: one report per second or one per ten seconds give the same ETA at the same progress", () => {
    const often = freshEta();
    const seldom = freshEta();
    for (let s = 0; s <= 100; s++) {
      updateEta(often, T0 + s * 1000, s / 200, false);
      if (s % 10 === 0) updateEta(seldom, T0 + s * 1000, s / 200, false);
    }
    // 50 % left at 0.5 %/s: 100 s (101 where floating point lands a hair above 100 before rounding up).
    for (const eta of [often, seldom]) {
      expect(eta.seconds).toBeGreaterThanOrEqual(100);
      expect(eta.seconds).toBeLessThanOrEqual(101);
    }
  });
});

describe("the stored form of the ETA", () => {
  it("round-trips, and decodes a head written before the guards existed (null until new evidence)", () => {
    const eta = freshEta();
    for (let s = 0; s <= 30; s++) updateEta(eta, T0 + s * 1000, s / 100, false);
    expect(decodeEta(encodeEta(eta))).toEqual(eta);
    const old = decodeEta([T0, 0.3, 0.01, 70]);
    expect(old).toMatchObject({ firstMs: null, grewMs: null, samples: 0 });
    updateEta(old, T0 + 1000, 0.31, false);
    expect(old.seconds).toBeNull();
  });
});
