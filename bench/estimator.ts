/**
 * The estimator on one core: a realistic mixed stream (thousands of originals, a 5-step plan with
 * fan-out and MIME filters, ~80 % progress events, some retries) applied in reducer-sized batches
 * of 500 events with a commit after each, as the reducer does.
 *
 * Prints:
 *   estimator_apply_events_per_s        parsed events → state (apply + commit per batch)
 *   estimator_ingest_events_per_s       JSON text → zod-validated → applied (+ commit)
 *   estimator_validate_events_per_s     JSON text → zod-validated only (to show where ingest time goes)
 *   estimator_bytes_per_inflight_execution  heap per running execution with a progress report
 */
import type { Event, Plan } from "../core/contract.ts";
import { Message, eventsOf } from "../core/contract.ts";
import { reduce } from "../core/estimator.ts";
import { applyEvents } from "../core/fold.ts";
import { seededRandom } from "../core/seeded-random.ts";
import { createJobState } from "../core/state.ts";

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

function best(runs: number, measure: () => number): number {
  let fastest = Infinity;
  for (let i = 0; i < runs; i++) fastest = Math.min(fastest, measure());
  return fastest;
}

export async function main(): Promise<void> {
  const events = benchStream(ORIGINALS);
  const parsedBatches = batches(events, BATCH);
  const textBatches = parsedBatches.map((batch) => JSON.stringify({ v: 1, events: batch }));
  const progressShare = events.filter((event) => event.type === "step.progress").length / events.length;
  process.stderr.write(`stream: ${events.length} events, ${ORIGINALS} originals, ${(progressShare * 100).toFixed(0)} % progress, batches of ${BATCH}\n`);

  const applySeconds = best(5, () => {
    const state = createJobState(JOB);
    const start = process.hrtime.bigint();
    let clock = 0;
    for (const batch of parsedBatches) {
      reduce(state, batch, ++clock);
    }
    return Number(process.hrtime.bigint() - start) / 1e9;
  });

  const validateSeconds = best(3, () => {
    const start = process.hrtime.bigint();
    for (const text of textBatches) Message.parse(JSON.parse(text));
    return Number(process.hrtime.bigint() - start) / 1e9;
  });

  const ingestSeconds = best(3, () => {
    const state = createJobState(JOB);
    const start = process.hrtime.bigint();
    let clock = 0;
    for (const text of textBatches) {
      reduce(state, eventsOf(Message.parse(JSON.parse(text))), ++clock);
    }
    return Number(process.hrtime.bigint() - start) / 1e9;
  });

  console.log(`estimator_apply_events_per_s: ${Math.round(events.length / applySeconds)}`);
  console.log(`estimator_ingest_events_per_s: ${Math.round(events.length / ingestSeconds)}`);
  console.log(`estimator_validate_events_per_s: ${Math.round(events.length / validateSeconds)}`);
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
