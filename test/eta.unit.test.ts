import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { JOB_KINDS, measureKind, observeJob, simulateJob, VARIED_SCENARIOS, type SimulatedJob } from "../bench/eta.ts";
import type { Event } from "../core/contract/events.ts";
import type { Plan } from "../core/contract/plan.ts";
import type { Snapshot } from "../core/contract/snapshot.ts";
import { decodeEta, encodeEta, MAX_ELAPSED_FACTOR, MAX_SECONDS } from "../core/estimator/eta.ts";
import { reduce } from "../core/estimator/reduce.ts";
import { renderSnapshot } from "../core/estimator/snapshot.ts";
import { createJobState, type JobState } from "../core/estimator/state.ts";
import { eventFactory } from "./support/events.ts";

const SEED = 20261130;
const T0 = Date.parse("2026-11-22T10:00:00.000Z");
const at = (seconds: number) => new Date(T0 + seconds * 1000).toISOString();
const MB = 1_000_000;

/** Commits after each event at the event's own time, as `headway replay` does; returns each snapshot's eta_seconds. */
function etasOf(events: readonly Event[]): (number | null)[] {
  const state = createJobState(events[0]!.job_id);
  return events.map((event) => {
    reduce(state, [event], Date.parse(event.at));
    return renderSnapshot(state).eta_seconds;
  });
}

function stateOf(events: readonly Event[], commitMs?: number): JobState {
  const state = createJobState(events[0]!.job_id);
  reduce(state, events, commitMs ?? Math.max(...events.map((event) => Date.parse(event.at))));
  return state;
}

/** A job of `files` files (declared, sealed) under `plan`, all at time 0. */
function jobOf(e: ReturnType<typeof eventFactory>, plan: Plan["steps"], files: number): Event[] {
  return [
    e.plan(plan, { at: at(0), expect_originals: files }),
    ...Array.from({ length: files }, (_, i) => e.original(`f${i}`, "video/mp4", { at: at(0) })),
  ];
}

describe("eta_seconds is never absurd", () => {
  const e = eventFactory();
  const plan = { encoded: { robot: "/video/encode", use: ":original" } };
  const start = jobOf(e, plan, 1);

  it("shows null, not 48,000 years, for one report at 40 % and another event three minutes later", () => {
    const etas = etasOf([
      ...start,
      e.started("encoded", "f0", 1, { at: at(0.5) }),
      e.progress("encoded", "f0", [40, 100], { at: at(1) }),
      e.progress("encoded", "f0", [40, 100], { at: at(181), event_id: "late" }),
    ]);
    expect(etas.at(-1)).toBeNull();
    expect(etas.every((eta) => eta === null || eta < 3600)).toBe(true);
  });

  it("shows null for the same job when the late event is of another kind (an indicator)", () => {
    const etas = etasOf([...start, e.started("encoded", "f0", 1, { at: at(0.5) }), e.progress("encoded", "f0", [40, 100], { at: at(1) }), e.added(5, "t1", { at: at(181) })]);
    expect(etas.at(-1)).toBeNull();
  });

  it("shows null while nothing has progressed", () => {
    const etas = etasOf([...start, e.started("encoded", "f0", 1, { at: at(1) }), e.progress("encoded", "f0", [0, 100], { at: at(30) }), e.progress("encoded", "f0", [0, 100], { at: at(90) })]);
    expect(etas).toEqual(etas.map(() => null));
  });

  it("shows null once progress has stalled for over a minute, and a value again when it resumes", () => {
    const begun = e.started("encoded", "f0", 1, { at: at(0) });
    const steady = Array.from({ length: 20 }, (_, i) => e.progress("encoded", "f0", [i + 1, 100], { at: at(i + 1) }));
    const stalled = e.progress("encoded", "f0", [20, 100], { at: at(100), event_id: "same-again" });
    const resumed = [21, 22, 23].map((value, i) => e.progress("encoded", "f0", [value, 100], { at: at(101 + i) }));
    const etas = etasOf([...start, begun, ...steady, stalled, ...resumed]);
    const atTwenty = etas[start.length + 20]!;
    expect(atTwenty).toBe(80); // 1 % a second, 80 % left
    expect(etas[start.length + 21]).toBeNull();
    expect(etas.at(-1)).not.toBeNull();
  });

  it("gives 0 once the job is finished", () => {
    const etas = etasOf([...start, e.started("encoded", "f0", 1, { at: at(1) }), e.progress("encoded", "f0", [50, 100], { at: at(5) }), e.completed("encoded", "f0", { at: at(10) })]);
    expect(etas.at(-1)).toBe(0);
  });

  it("gives 0 once job.completed arrives, whatever the rate", () => {
    const etas = etasOf([...start, e.progress("encoded", "f0", [1, 100], { at: at(5) }), { ...e.jobCompleted(), at: at(6) }]);
    expect(etas.at(-1)).toBe(0);
  });

  it("never shows more than MAX_ELAPSED_FACTOR times the time since the first work report, nor MAX_SECONDS, and only whole seconds ≥ 1 (any history)", () => {
    const report = fc.record({
      dtMs: fc.integer({ min: 0, max: 600_000 }),
      file: fc.integer({ min: 0, max: 3 }),
      kind: fc.constantFrom("started", "progress", "completed", "failed"),
      current: fc.integer({ min: 0, max: 100 }),
      total: fc.option(fc.constantFrom(100, 1000, 5 * MB), { freq: 4 }),
      attempt: fc.integer({ min: 1, max: 2 }),
    });
    fc.assert(
      fc.property(fc.array(report, { minLength: 1, maxLength: 40 }), (reports) => {
        const f = eventFactory("absurd");
        const state = createJobState("absurd");
        reduce(state, jobOf(f, { a: { robot: "/image/resize", use: ":original" }, b: { robot: "/s3/store", use: "a" } }, 4), T0);
        let nowMs = T0;
        for (const { dtMs, file, kind, current, total, attempt } of reports) {
          nowMs += dtMs;
          const step = current % 2 === 0 ? "a" : "b";
          const fields = { at: new Date(nowMs).toISOString(), attempt };
          const event =
            kind === "started" ? f.started(step, `f${file}`, attempt, fields)
            : kind === "progress" ? f.progress(step, `f${file}`, [Math.min(current, total ?? current), total], { ...fields, unit: "Bytes" })
            : kind === "completed" ? f.completed(step, `f${file}`, fields)
            : f.failed(step, `f${file}`, current % 3 === 0, fields);
          reduce(state, [event], nowMs);
          const eta = renderSnapshot(state).eta_seconds;
          if (eta === null || eta === 0) continue;
          expect(Number.isInteger(eta)).toBe(true);
          expect(eta).toBeGreaterThanOrEqual(1);
          expect(eta).toBeLessThanOrEqual(Math.min(MAX_SECONDS, (MAX_ELAPSED_FACTOR * (state.eta.latestMs! - state.eta.startMs!)) / 1000));
        }
      }),
      { seed: SEED, numRuns: 300 },
    );
  });
});

describe("what the ETA learns", () => {
  it("times an execution from its first attempt's first report to its completion, so a retry's lost time counts", () => {
    const e = eventFactory();
    const state = stateOf([
      ...jobOf(e, { encoded: { robot: "/video/encode", use: ":original" } }, 2),
      e.started("encoded", "f0", 1, { at: at(0) }),
      e.failed("encoded", "f0", true, { at: at(4) }),
      e.started("encoded", "f0", 2, { at: at(4) }),
      e.completed("encoded", "f0", { attempt: 2, at: at(10) }),
    ]);
    expect(state.eta.steps.get("encoded")).toMatchObject({ executions: 1, totalMs: 10_000 });
  });

  it("keeps per-step figures only: the learned state does not grow with the number of executions", () => {
    const sizeAfter = (files: number) => {
      const e = eventFactory();
      const events = jobOf(e, { a: { robot: "/image/resize", use: ":original" }, b: { robot: "/s3/store", use: "a" } }, files);
      for (let i = 0; i < files; i++) {
        for (const [step, s] of [["a", 0], ["b", 10]] as const) {
          events.push(e.started(step, `f${i}`, 1, { at: at(i + s) }), e.progress(step, `f${i}`, [MB, 2 * MB], { at: at(i + s + 5), unit: "Bytes" }), e.completed(step, `f${i}`, { at: at(i + s + 10) }));
        }
      }
      const eta = stateOf(events).eta;
      expect(eta.steps.get("b")!.executions).toBe(files);
      return JSON.stringify(encodeEta(eta)).replace(/\d+(\.\d+)?/g, "0").length;
    };
    expect(sizeAfter(1000)).toBe(sizeAfter(10));
  });

  it("never changes a percentage: the same events at other times give the same figures, only another ETA", () => {
    const e = eventFactory();
    const events = [
      ...jobOf(e, { a: { robot: "/image/resize", use: ":original" } }, 3),
      e.started("a", "f0", 1, { at: at(1) }),
      e.completed("a", "f0", { at: at(11) }),
      e.started("a", "f1", 1, { at: at(11) }),
      e.progress("a", "f1", [50, 100], { at: at(16) }),
    ];
    const slower = events.map((event) => ({ ...event, at: new Date(T0 + (Date.parse(event.at) - T0) * 7).toISOString() }));
    const [quick, slow] = [stateOf(events, T0 + 200_000), stateOf(slower, T0 + 200_000)].map((state) => renderSnapshot(state, { detail: true }));
    // Figures: everything but the ETA and the times the in-flight reports carry.
    const figures = ({ eta_seconds: _eta, detail, ...rest }: Snapshot) => ({ ...rest, detail: { ...detail!, in_flight: detail!.in_flight.map(({ at: _at, ...execution }) => execution) } });
    const [quickEta, slowEta] = [quick!.eta_seconds, slow!.eta_seconds];
    expect(figures(slow!)).toEqual(figures(quick!));
    expect(slowEta).toBeGreaterThan(quickEta!);
  });
});

describe("how the ETA is worked out", () => {
  const one = { stored: { robot: "/s3/store", use: ":original" } };

  it("divides the executions left × their step's duration among the workers observed, plus half an execution for the tail", () => {
    // Ten files, two at a time, 10 s each: at 20 s four are done and two have just started.
    const e = eventFactory();
    const events = jobOf(e, one, 10);
    for (const [file, from] of [[0, 0], [1, 0], [2, 10], [3, 10]] as const) events.push(e.started("stored", `f${file}`, 1, { at: at(from) }), e.completed("stored", `f${file}`, { at: at(from + 10) }));
    events.push(e.started("stored", "f4", 1, { at: at(20) }), e.started("stored", "f5", 1, { at: at(20) }));
    // 6 executions × 10 s ÷ 2 workers = 30 s; the two workers end on average half an execution apart: + 2.5 s.
    expect(renderSnapshot(stateOf(events)).eta_seconds).toBe(33);
  });

  it("counts from the first work report, not from the declaration: a job that waited three minutes in a queue", () => {
    const e = eventFactory();
    const events = [...jobOf(e, one, 2), e.started("stored", "f0", 1, { at: at(180) }), e.completed("stored", "f0", { at: at(190) }), e.started("stored", "f1", 1, { at: at(190) })];
    // One worker, 10 s an execution, one left: 10 s (the bar alone would say 190 s).
    expect(renderSnapshot(stateOf(events)).eta_seconds).toBe(10);
  });

  it("scales a file's work left by its size: the byte total its reports carry", () => {
    // Two 1 MB files took 10 s each; a 10 MB file reports 1 MB done after 10 s: 90 s left, not the 13 s the bar suggests.
    const e = eventFactory();
    const events = [
      ...jobOf(e, one, 3),
      ...[0, 1].flatMap((file) => [
        e.started("stored", `f${file}`, 1, { at: at(file * 10) }),
        e.progress("stored", `f${file}`, [MB / 2, MB], { at: at(file * 10 + 5), unit: "Bytes" }),
        e.completed("stored", `f${file}`, { at: at(file * 10 + 10) }),
      ]),
      e.started("stored", "f2", 1, { at: at(20) }),
      e.progress("stored", "f2", [MB, 10 * MB], { at: at(30), unit: "Bytes" }),
    ];
    const snapshot = renderSnapshot(stateOf(events));
    expect(snapshot.progress_combined).toBe(70);
    expect(snapshot.eta_seconds).toBe(90);
  });

  it("expects a file not started yet to weigh the mean of the sizes known, the big file still running included", () => {
    // One worker, 10 s a MB: a 1 MB file took 10 s, a 19 MB file has done 1 MB in 10 s, a third has not started.
    // The third is expected to weigh (1 + 19) ÷ 2 = 10 MB: 180 s + 100 s left. Timing it by the executions
    // seen instead (20 s for 1 + 1/19 of them: 19 s) would favour the small file, which finished first.
    const e = eventFactory();
    const events = [
      ...jobOf(e, one, 3),
      e.started("stored", "f0", 1, { at: at(0) }),
      e.progress("stored", "f0", [MB / 2, MB], { at: at(5), unit: "Bytes" }),
      e.completed("stored", "f0", { at: at(10) }),
      e.started("stored", "f1", 1, { at: at(10) }),
      e.progress("stored", "f1", [MB, 19 * MB], { at: at(20), unit: "Bytes" }),
    ];
    expect(renderSnapshot(stateOf(events)).eta_seconds).toBe(280);
  });

  it("scales a file's work left by its earlier step's duration when its reports carry no bytes", () => {
    // Step a took 10 s for f0 and 40 s for f1; step b took f0 5 s. f1's b should take 20 s, not 5.
    const e = eventFactory();
    const events = [
      ...jobOf(e, { a: { robot: "/image/resize", use: ":original" }, b: { robot: "/s3/store", use: "a" } }, 2),
      e.started("a", "f0", 1, { at: at(0) }),
      e.started("a", "f1", 1, { at: at(0) }),
      e.completed("a", "f0", { at: at(10) }),
      e.started("b", "f0", 1, { at: at(10) }),
      e.completed("b", "f0", { at: at(15) }),
      e.completed("a", "f1", { at: at(40) }),
    ];
    expect(renderSnapshot(stateOf(events)).eta_seconds).toBe(20);
  });

  it("never gives less than the longest chain of steps left: a file whose step fans out waits for that step first", () => {
    // Four workers, busy all along: four files split (10 s), then their 16 pages stored (10 s each), four at a time.
    const e = eventFactory();
    const plan = { split: { robot: "/file/split-pages", use: ":original", results_per_input: 4 }, stored: { robot: "/s3/store", use: "split" } };
    const events = jobOf(e, plan, 5);
    for (let file = 1; file <= 4; file++) events.push(e.started("split", `f${file}`, 1, { at: at(0) }), e.completed("split", `f${file}`, { at: at(10), result_count: 4 }));
    for (let page = 0; page < 16; page++) {
      const from = 10 + 10 * Math.floor(page / 4);
      const file = `f${1 + (page % 4)}`;
      events.push(e.started("stored", file, 1, { at: at(from), input_id: `${file}-${page}` }), e.completed("stored", file, { at: at(from + 10), input_id: `${file}-${page}` }));
    }
    events.push(e.started("split", "f0", 1, { at: at(50) }));
    // f0's work left is 10 s + 4 × 10 s = 50 s, about 16 s on four workers; but its pages wait for its split: 10 s + 10 s.
    expect(renderSnapshot(stateOf(events)).eta_seconds).toBe(20);
  });

  it("uses the rate since the first work report for counted work (no plan, no durations to learn)", () => {
    const e = eventFactory();
    const events = [e.declared({ at: at(0) }), e.added(100, "t1", { at: at(0) }), e.done(25, "t1", { at: at(10) })];
    expect(renderSnapshot(stateOf(events)).eta_seconds).toBe(30);
  });

  it("goes by the producers' `at`, not the time the batch is applied", () => {
    const e = eventFactory();
    const events = [...jobOf(e, one, 3), e.started("stored", "f0", 1, { at: at(0) }), e.completed("stored", "f0", { at: at(10) }), e.started("stored", "f1", 1, { at: at(10) })];
    const now = renderSnapshot(stateOf(events, T0 + 10_000)).eta_seconds;
    const minutesLater = renderSnapshot(stateOf(events, T0 + 300_000)).eta_seconds;
    expect(now).toBe(20);
    expect(minutesLater).toBe(now);
  });
});

describe("eta_seconds on simulated jobs (bench/eta.ts, fewer jobs)", () => {
  const TARGETS = { steady: 1, bursty: 1, slow: 0.5, retries: 1, queued: 0.5, mixed: 0.5 } as const;

  it.each(JOB_KINDS)("beats the naive rule (elapsed × (100 − p) ÷ p) on %s jobs by the bench's measure (error ÷ naive)", (kind) => {
    const report = measureKind(kind, 60);
    expect(report.absurd).toBe(0);
    expect(report.overNaive).toBeLessThanOrEqual(TARGETS[kind]);
  });

  it("catches a planted bug: an estimator that sees the batch's time instead of the producer's `at`", () => {
    // Bursty producers flush every 15–45 s: stamped on arrival, every report of a flush has one time.
    const stampedOnArrival = (job: SimulatedJob): SimulatedJob => ({ ...job, arrivals: job.arrivals.map(({ event, arrivalMs }) => ({ event: { ...event, at: new Date(arrivalMs).toISOString() }, arrivalMs })) });
    const honest = measureKind("bursty", 40);
    const planted = measureKind("bursty", 40, undefined, 1, stampedOnArrival);
    expect(honest.overNaive).toBeLessThanOrEqual(1);
    expect(planted.overNaive).toBeGreaterThan(1);
  });

  it("ends a slow step on the execution that started last: within 15 % at 75 % done, for slow-step jobs on 16–32 workers", () => {
    // The encodings left all run at once, each at its own point: the job waits for the one furthest from its end.
    const atThreeQuarters = measureKind("slow", 40, VARIED_SCENARIOS.many_workers).checkpoints.find((checkpoint) => checkpoint.percent === 75)!;
    expect(atThreeQuarters.nulls).toBe(0);
    expect(atThreeQuarters.error).toBeLessThan(15);
  });

  it("is within 10 % of the true remaining time at 50 % done, for simulated steady jobs", () => {
    for (const seed of [1, 2, 3, 4, 5]) {
      const half = observeJob(simulateJob("steady", seed)).find((observation) => observation.displayed !== null && observation.displayed >= 50)!;
      expect(half.etaSeconds).not.toBeNull();
      expect(Math.abs(half.etaSeconds! - half.trueRemainingSeconds) / half.trueRemainingSeconds).toBeLessThan(0.1);
    }
  });
});

describe("the stored form of the ETA", () => {
  it("round-trips, and decodes a head written before learning existed (null until new evidence)", () => {
    const e = eventFactory();
    const events = [...jobOf(e, { stored: { robot: "/s3/store", use: ":original" } }, 3), e.started("stored", "f0", 1, { at: at(0) }), e.progress("stored", "f0", [MB, 2 * MB], { at: at(5), unit: "Bytes" }), e.completed("stored", "f0", { at: at(10) })];
    const eta = stateOf(events).eta;
    expect(decodeEta(JSON.parse(JSON.stringify(encodeEta(eta))))).toEqual(eta);
    const old = decodeEta([T0, 0.3, 0.01, 70]);
    expect(old).toMatchObject({ seconds: 70, startMs: null, steps: new Map() });
  });
});
