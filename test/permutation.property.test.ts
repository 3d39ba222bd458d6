/**
 * The permutation law (docs/estimation.md): for any event log whose in-flight
 * reports grow with time and whose result counts are the ones the plan predicts, every
 * permutation and duplication of it (the declaration first), cut into batches of any sizes, ends
 * with the same displayed snapshot as the log in order; and no batch ever shows 100 for a file or
 * a job that the full log does not finish. Seeded: a failure prints its seed and path, and
 * `HEADWAY_SEED=<seed>` replays it.
 */
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import type { Event } from "../core/contract/events.ts";
import type { Snapshot } from "../core/contract/snapshot.ts";
import { reduce } from "../core/estimator/reduce.ts";
import { renderSnapshot } from "../core/estimator/snapshot.ts";
import { createJobState } from "../core/estimator/state.ts";
import { worldArbitrary, type World } from "./support/worlds.ts";

const SEED = Number(process.env.HEADWAY_SEED ?? 20261130);
const RUNS = Number(process.env.HEADWAY_RUNS ?? 400);

type Reduce = typeof reduce;

/** The world's log after the declaration, shuffled, with repeats, cut into batches. */
const deliveryArbitrary = (world: World) =>
  fc
    .tuple(
      fc.shuffledSubarray(world.log, { minLength: world.log.length }),
      fc.array(fc.nat(), { maxLength: 12 }),
      fc.array(fc.integer({ min: 1, max: 12 }), { minLength: 1, maxLength: 20 }),
    )
    .map(([shuffled, repeats, sizes]) => {
      const events = [...shuffled];
      for (const position of repeats) {
        if (shuffled.length === 0) break;
        events.splice(position % (events.length + 1), 0, shuffled[position % shuffled.length]!);
      }
      return cut([world.declared, ...events], sizes);
    });

function cut(events: Event[], sizes: number[]): Event[][] {
  const batches: Event[][] = [];
  for (let start = 0, index = 0; start < events.length; index++) {
    const size = sizes[index % sizes.length]!;
    batches.push(events.slice(start, start + size));
    start += size;
  }
  return batches;
}

function deliver(batches: Event[][], reduceBatch: Reduce): Snapshot[] {
  const state = createJobState("job-w");
  return batches.map((batch, index) => {
    reduceBatch(state, batch, Date.parse("2026-11-22T12:00:00.000Z") + index * 1000);
    return renderSnapshot(state, { detail: true });
  });
}

/**
 * docs/estimation.md: the combined figure is 100 only when no predicted execution of the job is
 * outstanding or in flight (until job.completed finishes what is left); its ETA is then 0. A
 * file failed for good is finished whole, so what was predicted after its failure is not
 * outstanding.
 */
function outstandingAtHundred(seen: Snapshot[]): string | null {
  for (const [index, snapshot] of seen.entries()) {
    const detail = snapshot.detail!;
    if (detail.true_progress_combined !== 100 || snapshot.status === "completed") continue;
    if (detail.in_flight.length > 0) return `batch ${index}: combined 100 with ${detail.in_flight.length} executions in flight`;
    // A file failed for good is finished whole: the work predicted after its failure never runs.
    if (snapshot.progress_per_original_file.some((file) => file.status === "failed")) continue;
    for (const step of detail.steps) {
      if (step.predicted === null || step.predicted > step.completed + step.failed + 1e-9) return `batch ${index}: combined 100 with ${step.step} outstanding`;
    }
    if (snapshot.eta_seconds !== 0) return `batch ${index}: combined 100 with an ETA of ${snapshot.eta_seconds}`;
  }
  return null;
}

/** What a watcher sees, less what depends on when and how often batches came (version, time, ETA), and the detail. */
function displayed(snapshot: Snapshot) {
  const { version: _version, updated_at: _updated, eta_seconds: _eta, detail: _detail, ...shown } = snapshot;
  return shown;
}

function premature(world: World, seen: Snapshot[]): string | null {
  for (const [index, snapshot] of seen.entries()) {
    if (world.shape === "indicators") continue; // a job of counters is finished when its counts say so
    if (snapshot.progress_combined === 100 && !world.isJobFinished) return `batch ${index}: job shown at 100 before it finished`;
    for (const file of snapshot.progress_per_original_file) {
      if (file.progress === 100 && !world.finishedFiles.has(file.original_id)) return `batch ${index}: ${file.original_id} shown at 100 before it finished`;
    }
  }
  return null;
}

function permutationLaw(reduceBatch: Reduce) {
  return fc.property(
    worldArbitrary.chain((world) => fc.tuple(fc.constant(world), deliveryArbitrary(world), fc.integer({ min: 1, max: 12 }))),
    ([world, batches, inOrderSize]) => {
      const inOrder = deliver(cut([world.declared, ...world.log], [inOrderSize]), reduceBatch);
      const permuted = deliver(batches, reduceBatch);
      expect(premature(world, inOrder)).toBeNull();
      expect(premature(world, permuted)).toBeNull();
      expect(outstandingAtHundred(inOrder)).toBeNull();
      expect(outstandingAtHundred(permuted)).toBeNull();
      expect(displayed(permuted.at(-1)!)).toEqual(displayed(inOrder.at(-1)!));
      if (world.expectedIndicators !== null) expect(inOrder.at(-1)!.indicators).toEqual(world.expectedIndicators);
    },
  );
}

describe("the permutation law", () => {
  it("ends with the same displayed snapshot in any delivery order and batching, and never shows 100 early", () => {
    fc.assert(permutationLaw(reduce), { seed: SEED, numRuns: RUNS });
  });

  it("generates every plan shape, retries, failures and reports with and without their original", () => {
    const worlds = fc.sample(worldArbitrary, { seed: SEED, numRuns: RUNS });
    const shapes = new Set(worlds.map((world) => world.shape));
    expect([...shapes].sort()).toEqual(["chain", "import", "indicators", "instructions", "unzip", "video"]);
    const events = worlds.flatMap((world) => world.log);
    expect(events.some((event) => event.type === "step.failed" && event.will_retry)).toBe(true);
    expect(events.some((event) => event.type === "step.failed" && !event.will_retry)).toBe(true);
    expect(events.some((event) => event.type === "step.completed" && event.input_id !== undefined && event.original_id === undefined)).toBe(true);
    expect(events.some((event) => event.type === "step.progress" && event.input_id !== undefined && event.original_id !== undefined && event.input_id !== event.original_id)).toBe(true);
    expect(worlds.some((world) => world.isJobFinished && world.shape !== "indicators")).toBe(true);
    expect(events.some((event) => event.type === "indicator.reported")).toBe(true);
    const importResults = events.flatMap((event) => (event.type === "step.completed" && event.step === "imported" ? (event.results ?? []) : []));
    expect(importResults.some((result) => result.original_id === undefined)).toBe(true);
    expect(worlds.some((world) => world.shape === "instructions" && world.log.some((event) => event.type === "step.completed" && event.step === "bundled"))).toBe(true);
    const relabelled = worlds.some((world) => {
      const labels = new Map<string, Set<string>>();
      for (const event of world.log) if (event.type.startsWith("indicator.") && "task_id" in event) labels.set(event.task_id, (labels.get(event.task_id) ?? new Set()).add(`${"label" in event ? event.label : null}`));
      return [...labels.values()].some((set) => set.size > 1);
    });
    expect(relabelled).toBe(true);
  });

  it("catches a planted bug: work on an import's results that name no original dropped from the combined figure", () => {
    // The estimator before issue 23: such results and the work after them counted for nothing,
    // so the job showed 100 while their later steps were still to run.
    const dropsUnowned: Reduce = (state, events, nowMs) => {
      const reduction = reduce(state, events, nowMs);
      state.jobEstimate = { ...state.jobEstimate, unreported: 0 };
      for (const totals of state.partTotals.values()) totals.looseDone = 0;
      return reduction;
    };
    const result = fc.check(permutationLaw(dropsUnowned), { seed: SEED, numRuns: RUNS });
    expect(result.failed).toBe(true);
  });

  it("catches a planted bug: a retry that leaves the first attempt counted under labels it does not report", () => {
    const keepsOtherLabels: Reduce = (state, events, nowMs) => {
      const reduction = reduce(state, events, nowMs);
      for (const task of state.tasks.values()) if (task.mirrors !== undefined) for (const mirror of task.mirrors.values()) mirror.attempt = task.attempt;
      return reduction;
    };
    const result = fc.check(permutationLaw(keepsOtherLabels), { seed: SEED, numRuns: RUNS });
    expect(result.failed).toBe(true);
  });

  it("catches a planted bug: a seal that completes the upload whatever count it carries", () => {
    // The estimator before this law: any seal closed the upload, so a seal that overtook the
    // last original.added let the job show 100 while an original was still to come.
    const sealClosesUpload: Reduce = (state, events, nowMs) =>
      reduce(state, events.map((event) => (event.type === "originals.sealed" ? { ...event, count: undefined } : event)), nowMs);
    const result = fc.check(permutationLaw(sealClosesUpload), { seed: SEED, numRuns: RUNS });
    expect(result.failed).toBe(true);
  });

  it("catches a planted bug: an input that forgets which original its execution was tied to", () => {
    // Without the link, a report naming only its input that arrives after the report naming the
    // original lands in the input's record instead of the original's: counted or not by order.
    const forgetsLinks: Reduce = (state, events, nowMs) => {
      for (const record of state.originals.values()) record.links = null;
      return reduce(state, events, nowMs);
    };
    const result = fc.check(permutationLaw(forgetsLinks), { seed: SEED, numRuns: RUNS });
    expect(result.failed).toBe(true);
  });
});
