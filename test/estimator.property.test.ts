import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { serialize } from "node:v8";
import type { Event } from "../core/contract/events.ts";
import type { Snapshot } from "../core/contract/snapshot.ts";
import { reduce } from "../core/estimator/reduce.ts";
import { applyEvents } from "../core/estimator/fold.ts";
import { HISTORY_POINTS } from "../core/estimator/history.ts";
import { emptyBucket } from "../core/estimator/indicators.ts";
import { LABEL_BUCKETS } from "../core/estimator/partition.ts";
import { renderSnapshot } from "../core/estimator/snapshot.ts";
import { createJobState, type JobState } from "../core/estimator/state.ts";
import { eventFactory, VIDEO_PLAN } from "./support/events.ts";

const SEED = 20261123;
const MIMES = ["video/mp4", "image/png", "application/zip", "text/plain"] as const;
const STEPS = ["thumbs", "encoded", "resized", "unzipped", "stored", "archive"] as const;
const BASE_MS = Date.parse("2026-11-22T10:00:00.000Z");

interface Stream {
  declared: Event;
  rest: Event[];
}

/** A job's events: its declaration, originals, step and indicator reports with retries, and (rarely) a terminal event. */
const streamArbitrary: fc.Arbitrary<Stream> = fc
  .record({
    originals: fc.array(fc.constantFrom(...MIMES), { minLength: 1, maxLength: 4 }),
    sealed: fc.boolean(),
    reports: fc.array(
      fc.record({
        kind: fc.constantFrom("started", "progress", "progress", "progress", "completed", "failed", "added", "done"),
        step: fc.constantFrom(...STEPS),
        original: fc.nat(3),
        input: fc.constantFrom(null, "x1", "x2"),
        attempt: fc.integer({ min: 1, max: 3 }),
        current: fc.nat(100),
        total: fc.option(fc.integer({ min: 1, max: 100 }), { nil: null }),
        results: fc.nat(3),
        willRetry: fc.boolean(),
        label: fc.constantFrom(null, "a", "b"),
        second: fc.nat(60),
      }),
      { maxLength: 40 },
    ),
    terminal: fc.constantFrom(null, null, null, "completed", "failed"),
  })
  .map(({ originals, sealed, reports, terminal }) => {
    const e = eventFactory("job-p");
    const declared = e.plan(VIDEO_PLAN, { emit_execution_progress: true });
    const rest: Event[] = originals.map((mime, index) => e.original(`f${index}`, mime));
    if (sealed) rest.push(e.sealed());
    for (const report of reports) {
      const originalId = `f${Math.min(report.original, originals.length - 1)}`;
      const at = new Date(BASE_MS + report.second * 1000).toISOString();
      const where = report.step === "archive" ? {} : { original_id: originalId };
      const input = report.input === null ? {} : { input_id: `${originalId}-${report.input}` };
      const common = { attempt: report.attempt, at, ...where, ...input };
      switch (report.kind) {
        case "started":
          rest.push(e.started(report.step, undefined, report.attempt, common));
          break;
        case "progress":
          rest.push(e.progress(report.step, undefined, [report.current, report.total], common));
          break;
        case "completed":
          rest.push(e.completed(report.step, undefined, { ...common, result_count: report.results }));
          break;
        case "failed":
          rest.push(e.failed(report.step, undefined, report.willRetry, common));
          break;
        case "added":
          rest.push(e.added(report.results + 1, `t${report.original}`, { attempt: report.attempt, label: report.label, at }));
          break;
        case "done":
          rest.push(e.done(report.results, `t${report.original}`, { attempt: report.attempt, label: report.label, at }));
          break;
      }
    }
    if (terminal === "completed") rest.push(e.jobCompleted());
    if (terminal === "failed") rest.push(e.jobFailed());
    return { declared, rest };
  });

/** The stream's events after the declaration, shuffled, with some repeated. */
const reorderedArbitrary = (stream: Stream) =>
  fc
    .tuple(fc.shuffledSubarray(stream.rest, { minLength: stream.rest.length }), fc.array(fc.nat(), { maxLength: 10 }))
    .map(([shuffled, repeats]) => {
      const withDuplicates = [...shuffled];
      for (const position of repeats) {
        if (shuffled.length === 0) break;
        withDuplicates.splice(position % (withDuplicates.length + 1), 0, shuffled[position % shuffled.length]!);
      }
      return withDuplicates;
    });

/** Folds with one commit per event (as replay does per line), recording every displayed snapshot. */
function foldEach(events: Event[]): { state: JobState; seen: Snapshot[] } {
  const state = createJobState(events[0]!.job_id);
  const seen: Snapshot[] = [];
  events.forEach((event, index) => {
    reduce(state, [event], BASE_MS + index);
    seen.push(renderSnapshot(state, { detail: true }));
  });
  return { state, seen };
}

function truth(snapshot: Snapshot) {
  return {
    status: snapshot.status,
    combined: snapshot.detail!.true_progress_combined,
    files: snapshot.detail!.true_progress_per_original_file,
    indicators: snapshot.indicators,
    steps: snapshot.detail!.steps,
  };
}

function displayed(snapshot: Snapshot) {
  return { combined: snapshot.progress_combined, files: snapshot.progress_per_original_file };
}

function truthNeverRegressed(seen: Snapshot[]): boolean {
  const best = new Map<string, number>();
  for (const snapshot of seen) {
    const values: [string, number | null][] = [
      ["", snapshot.detail!.true_progress_combined],
      ...snapshot.detail!.true_progress_per_original_file.map((file): [string, number | null] => [file.original_id, file.progress]),
    ];
    for (const [key, value] of values) {
      if (value === null) continue;
      if (value < (best.get(key) ?? -1)) return false;
      best.set(key, value);
    }
  }
  return true;
}

describe("estimator laws", () => {
  it("gives the same true estimate for any order and duplication of the events after job.declared", () => {
    fc.assert(
      fc.property(
        streamArbitrary.chain((stream) => fc.tuple(fc.constant(stream), reorderedArbitrary(stream))),
        ([stream, reordered]) => {
          const original = foldEach([stream.declared, ...stream.rest]);
          const shuffled = foldEach([stream.declared, ...reordered]);
          expect(truth(shuffled.seen.at(-1)!)).toEqual(truth(original.seen.at(-1)!));
          if (truthNeverRegressed(original.seen) && truthNeverRegressed(shuffled.seen)) {
            expect(displayed(shuffled.seen.at(-1)!)).toEqual(displayed(original.seen.at(-1)!));
          }
        },
      ),
      { seed: SEED, numRuns: 300 },
    );
  });

  it("gives the same true estimate whether events arrive one by one or in one batch", () => {
    fc.assert(
      fc.property(streamArbitrary, (stream) => {
        const events = [stream.declared, ...stream.rest];
        const batched = createJobState("job-p");
        reduce(batched, events, BASE_MS);
        expect(truth(renderSnapshot(batched, { detail: true }))).toEqual(truth(foldEach(events).seen.at(-1)!));
      }),
      { seed: SEED, numRuns: 200 },
    );
  });

  it("gives the same snapshot however the state is split into parts", () => {
    fc.assert(
      fc.property(streamArbitrary, fc.integer({ min: 1, max: 16 }), fc.integer({ min: 1, max: 8 }), (stream, partCount, taskPartCount) => {
        const events = [stream.declared, ...stream.rest];
        const split = createJobState("job-p", { partCount });
        for (let bucket = 0; bucket < LABEL_BUCKETS; bucket++) split.labelBuckets.set(bucket, { ...emptyBucket(), taskPartCount });
        events.forEach((event, index) => {
          reduce(split, [event], BASE_MS + index);
        });
        expect(renderSnapshot(split, { detail: true })).toEqual(foldEach(events).seen.at(-1));
      }),
      { seed: SEED, numRuns: 200 },
    );
  });

  it("never lets an emitted percentage decrease, and shows 100 only when truly finished", () => {
    fc.assert(
      fc.property(
        streamArbitrary.chain((stream) => fc.tuple(fc.constant(stream), reorderedArbitrary(stream))),
        ([stream, reordered]) => {
          const { seen } = foldEach([stream.declared, ...reordered]);
          const last = new Map<string, number>();
          for (const snapshot of seen) {
            const shown: [string, number | null, number | null][] = [
              ["", snapshot.progress_combined, snapshot.detail!.true_progress_combined],
              ...snapshot.progress_per_original_file.map((file, index): [string, number | null, number | null] => [
                file.original_id,
                file.progress,
                snapshot.detail!.true_progress_per_original_file[index]!.progress,
              ]),
            ];
            for (const [key, value, trueValue] of shown) {
              if (value === null) continue;
              expect(value).toBeGreaterThanOrEqual(last.get(key) ?? 0);
              if (value === 100 && (last.get(key) ?? 0) < 100) expect(trueValue).toBe(100);
              last.set(key, value);
            }
          }
        },
      ),
      { seed: SEED, numRuns: 300 },
    );
  });
});

describe("state size", () => {
  it("does not grow with repeated progress events of the same executions", () => {
    const e = eventFactory("job-s");
    const state = createJobState("job-s");
    applyEvents(state, [e.plan(VIDEO_PLAN), e.original("f1", "video/mp4"), e.sealed()]);
    const report = (n: number) => e.progress("encoded", "f1", [n % 100, 100], { message: "encoding" });
    // The progress history is bounded on its own (at most HISTORY_POINTS points, test/history.property.test.ts).
    const withoutHistory = () => {
      const { history: _history, ...rest } = withoutDerived(state);
      return rest;
    };
    for (let i = 0; i < 10; i++) reduce(state, [report(i)], BASE_MS);
    const sizeAfter10 = serialize(withoutHistory()).length;
    for (let i = 10; i < 10_000; i++) reduce(state, [report(i)], BASE_MS + 1);
    // Equal up to the encoding of numbers (times, fractions): growth per event would add ≥ 10 KB.
    expect(Math.abs(serialize(withoutHistory()).length - sizeAfter10)).toBeLessThan(32);
    expect(state.history.points.length).toBeLessThanOrEqual(HISTORY_POINTS);
  });
});

function withoutDerived(state: JobState) {
  const { compiled: _compiled, dirtyOriginals: _dirty, ...stored } = state;
  return stored;
}
