/**
 * The estimator on one core: a realistic mixed stream (thousands of originals, a 5-step plan with
 * fan-out and MIME filters, ~80 % progress events, some retries) applied in reducer-sized batches
 * of 500 events with a commit after each, as the reducer does.
 *
 * Prints:
 *   estimator_apply_events_per_s        parsed events → state (apply + commit per batch)
 *   estimator_ingest_events_per_s       JSON text → validated (parseMessageBody, as the reducer) → applied (+ commit)
 *   estimator_validate_events_per_s     JSON text → validated only (to show where ingest time goes)
 *   json_parse_events_per_s             JSON.parse of the same message bodies: the floor, measured in the same run
 *   ingest_over_parse, apply_over_parse the ratios with targets (docs/performance.md) (≥ 0.5 and ≥ 2), which hold
 *                                       on any machine where the absolute rates do not
 *   estimator_bytes_per_inflight_execution  heap per running execution with a progress report
 *
 * The machines are shared and noisy, so every figure is in events per CPU-second of this process,
 * measured slice by slice and kept from the fastest round of each slice (see measurePasses).
 */
import type { Event } from "../core/contract/events.ts";
import type { Plan } from "../core/contract/plan.ts";
import { reduce } from "../core/estimator/reduce.ts";
import { applyEvents } from "../core/estimator/fold.ts";
import { parseMessageBody } from "../core/contract/ingest.ts";
import { seededRandom } from "../test/support/seeded-random.ts";
import { createJobState } from "../core/estimator/state.ts";

const BATCH = 500;
const ORIGINALS = Number(process.env.BENCH_ORIGINALS ?? 5_000);
const JOB = "bench-job";

export const BENCH_PLAN: Plan["steps"] = {
  thumbs: { robot: "/video/thumbs", use: ":original", accepts: ["video/*"], results_per_input: 4, output_mime: "image/jpeg" },
  encoded: { robot: "/video/encode", use: ":original", accepts: ["video/*"], weight: 5 },
  resized: { robot: "/image/resize", use: ["thumbs", ":original"], accepts: ["image/*"] },
  stored: { robot: "/s3/store", use: ["encoded", "resized"] },
  archive: { robot: "/file/compress", use: "stored", per: "job" },
};

export function benchStream(originals: number, jobId = JOB): Event[] {
  const next = seededRandom(42);
  const events: Event[] = [];
  let id = 0;
  let clock = Date.parse("2026-11-22T10:00:00.000Z");
  const common = () => ({ v: 1 as const, job_id: jobId, event_id: `e${++id}`, at: new Date((clock += 3)).toISOString() });
  events.push({ ...common(), type: "job.declared", plan: { steps: BENCH_PLAN }, expect_originals: originals, emit_execution_progress: true });
  const execution = (step: string, originalId: string, inputId: string) => {
    let attempt = 1;
    events.push({ ...common(), type: "step.started", step, original_id: originalId, input_id: inputId, attempt });
    const reports = 8 + Math.floor(next() * 6);
    for (let r = 1; r <= reports; r++) {
      events.push({ ...common(), type: "step.progress", step, original_id: originalId, input_id: inputId, attempt, progress: [r * 100, (reports + 1) * 100], unit: "Bytes" });
      if (r === 2 && next() < 0.05) {
        events.push({ ...common(), type: "step.failed", step, original_id: originalId, input_id: inputId, attempt, error: "worker lost", will_retry: true });
        attempt++;
      }
    }
    events.push({ ...common(), type: "step.completed", step, original_id: originalId, input_id: inputId, attempt, result_count: step === "thumbs" ? 4 : 1 });
  };
  for (let o = 0; o < originals; o++) {
    const originalId = `f${o}`;
    const roll = next();
    const mime = roll < 0.5 ? "video/mp4" : roll < 0.9 ? "image/png" : "text/plain";
    events.push({ ...common(), type: "original.added", original_id: originalId, mime, source: "upload" });
    if (mime === "video/mp4") {
      execution("thumbs", originalId, originalId);
      execution("encoded", originalId, originalId);
      for (let t = 0; t < 4; t++) execution("resized", originalId, `${originalId}-t${t}`);
      execution("stored", originalId, `${originalId}-enc`);
      for (let t = 0; t < 4; t++) execution("stored", originalId, `${originalId}-r${t}`);
    } else if (mime === "image/png") {
      execution("resized", originalId, originalId);
      execution("stored", originalId, `${originalId}-r`);
    }
  }
  events.push({ ...common(), type: "originals.sealed" });
  execution("archive", "", "archive");
  // `archive` is job-level: drop the empty original id the helper put in.
  for (const event of events) if ("original_id" in event && event.original_id === "") delete (event as { original_id?: string }).original_id;
  return events;
}

function batches<T>(items: T[], size: number): T[][] {
  const result: T[][] = [];
  for (let i = 0; i < items.length; i += size) result.push(items.slice(i, i + size));
  return result;
}

/** CPU seconds of this process so far (all its threads, GC included). */
function cpuSeconds(): number {
  const used = process.cpuUsage();
  return (used.user + used.system) / 1e6;
}

/** One way through the stream, batch by batch: `start` makes its fresh state, `batch(i)` takes batch i. */
interface Pass {
  start(): void;
  batch(index: number): void;
}

/**
 * Seconds per pass, robust to a shared machine: each round runs every pass over the whole
 * stream, timing each slice of SLICE batches in CPU seconds of this process (so other work on
 * the cores counts far less than in wall time); a slice's figure is its fastest round, and a
 * pass's figure the sum of its slices. Passes alternate within a round, so a slow minute hurts
 * them alike.
 */
function measurePasses<K extends string>(passes: Record<K, Pass>, batchCount: number, rounds: number): Record<K, number> {
  const SLICE = 20;
  const names = Object.keys(passes) as K[];
  const fastest = new Map(names.map((name) => [name, new Array<number>(Math.ceil(batchCount / SLICE)).fill(Infinity)]));
  for (let round = 0; round < rounds; round++) {
    for (const name of names) {
      const pass = passes[name];
      const slices = fastest.get(name)!;
      pass.start();
      for (let slice = 0; slice < slices.length; slice++) {
        const begin = cpuSeconds();
        for (let index = slice * SLICE; index < Math.min(batchCount, (slice + 1) * SLICE); index++) pass.batch(index);
        slices[slice] = Math.min(slices[slice]!, cpuSeconds() - begin);
      }
    }
  }
  return Object.fromEntries(names.map((name) => [name, fastest.get(name)!.reduce((a, b) => a + b, 0)])) as Record<K, number>;
}

export async function main(): Promise<void> {
  const events = benchStream(ORIGINALS);
  const parsedBatches = batches(events, BATCH);
  const textBatches = parsedBatches.map((batch) => JSON.stringify({ v: 1, events: batch }));
  const progressShare = events.filter((event) => event.type === "step.progress").length / events.length;
  process.stderr.write(`stream: ${events.length} events, ${ORIGINALS} originals, ${(progressShare * 100).toFixed(0)} % progress, batches of ${BATCH}\n`);

  let state = createJobState(JOB);
  const fresh = () => {
    state = createJobState(JOB);
  };
  const seconds = measurePasses(
    {
      parse: { start: () => {}, batch: (i) => JSON.parse(textBatches[i]!) },
      apply: {
        start: fresh,
        batch: (i) => {
          reduce(state, parsedBatches[i]!, i + 1);
        },
      },
      validate: {
        start: () => {},
        batch: (i) => {
          if (parseMessageBody(textBatches[i]!).rejections.length > 0) throw new Error("the bench stream must be valid");
        },
      },
      ingest: {
        start: fresh,
        batch: (i) => {
          reduce(state, parseMessageBody(textBatches[i]!).events, i + 1);
        },
      },
    },
    parsedBatches.length,
    Number(process.env.BENCH_ROUNDS ?? 5),
  );
  const rate = (s: number) => Math.round(events.length / s);
  console.log(`estimator_apply_events_per_s: ${rate(seconds.apply)}`);
  console.log(`estimator_ingest_events_per_s: ${rate(seconds.ingest)}`);
  console.log(`estimator_validate_events_per_s: ${rate(seconds.validate)}`);
  console.log(`json_parse_events_per_s: ${rate(seconds.parse)}`);
  console.log(`ingest_over_parse: ${(seconds.parse / seconds.ingest).toFixed(2)}`);
  console.log(`apply_over_parse: ${(seconds.parse / seconds.apply).toFixed(2)}`);
  console.log(`estimator_bytes_per_inflight_execution: ${Math.round(bytesPerInflightExecution(100_000))}`);
}

/** Heap growth per running execution that holds a progress report (needs --expose-gc). */
function bytesPerInflightExecution(count: number): number {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) throw new Error("run with node --expose-gc (npm run bench does)");
  const state = createJobState(JOB);
  applyEvents(state, [{ v: 1, type: "job.declared", job_id: JOB, event_id: "d", at: "2026-11-22T10:00:00.000Z", plan: { steps: BENCH_PLAN } }]);
  const originals = Math.ceil(count / 8);
  for (let o = 0; o < originals; o++) {
    applyEvents(state, [{ v: 1, type: "original.added", job_id: JOB, event_id: `o${o}`, at: "2026-11-22T10:00:00.000Z", original_id: `f${o}`, mime: "image/png" }]);
  }
  reduce(state, [], 1);
  gc();
  const before = process.memoryUsage().heapUsed;
  for (let i = 0; i < count; i++) {
    const originalId = `f${i % originals}`;
    applyEvents(state, [
      {
        v: 1, type: "step.progress", job_id: JOB, event_id: `p${i}`, at: "2026-11-22T10:00:01.000Z",
        step: "resized", original_id: originalId, input_id: `${originalId}-i${i}`, attempt: 1, progress: [i % 100, 100], unit: "Bytes",
      },
    ]);
  }
  state.dirtyOriginals.clear();
  gc();
  const after = process.memoryUsage().heapUsed;
  if (state.originals.size === 0) throw new Error("unreachable");
  return (after - before) / count;
}
