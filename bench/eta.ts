/**
 * How good is `eta_seconds`? Simulated jobs with a known true finish time are folded through the
 * real estimator the way the reducer folds them (events grouped into batches by arrival time,
 * `reduce(state, batch, batchTime)`), and each batch's snapshot is compared with the
 * truth. For each kind of job it prints the median absolute percentage error of `eta_seconds`
 * against the true remaining time at the first batch whose displayed `progress_combined` reaches
 * 25, 50 and 75 %, and how many jobs showed `null` there:
 *
 *   eta_<kind>_mape_at_<p>: <median |eta − truth| / truth, in %>
 *   eta_<kind>_null_at_<p>: <jobs showing null> / <jobs>
 *   eta_<kind>_naive_mape_at_<p>: <the same error for elapsed × (100 − p) / p, the floor>
 *   eta_<kind>_mape_over_naive: <the errors at 25, 50, 75 % summed ÷ the naive ones summed> (below 1: better than the floor)
 *   eta_absurd: <snapshots with an eta above 100 × the job's elapsed time> (must be 0)
 *
 * The floor is what a client could work out from the displayed percentage alone, with no
 * estimator: the time since the job was declared, scaled by the part not yet shown. It is
 * deterministic like the rest (seeded jobs), so unlike a timing floor it never moves.
 *
 * Kinds:
 *   steady   workers take executions of similar length; reports arrive within a second
 *   bursty   the same work, but the producer flushes its reports every 15–45 s
 *   slow     a three-step chain whose middle step takes 10× as long for the same weight, run
 *            breadth-first (all first steps, then the slow ones): equal percentages, unequal time
 *   retries  like steady, but 20 % of executions fail part-way and start over (attempt + 1)
 */
import type { Event, Plan } from "../core/contract.ts";
import { reduce } from "../core/estimator.ts";
import { seededRandom } from "../core/seeded-random.ts";
import { renderSnapshot } from "../core/snapshot.ts";
import { createJobState } from "../core/state.ts";

export type JobKind = "steady" | "bursty" | "slow" | "retries";
export const JOB_KINDS: readonly JobKind[] = ["steady", "bursty", "slow", "retries"];
const CHECKPOINTS = [25, 50, 75] as const;
const JOBS_PER_KIND = Number(process.env.BENCH_ETA_JOBS ?? 40);
const START_MS = Date.parse("2026-11-22T10:00:00.000Z");
/** The reducer commits once per batch; SQS long polling with a batching window of about a second. */
const BATCH_WINDOW_MS = 1_000;

interface StepSpec {
  name: string;
  robot: string;
  meanSeconds: number;
}

export interface SimulatedJob {
  /** Events in the order they arrive, each with its arrival time. */
  arrivals: { event: Event; arrivalMs: number }[];
  finishMs: number;
}

/**
 * One simulated job: `originals` files each go through a chain of steps; `workers` take ready
 * executions first-come first-served (so all first steps run before the later ones catch up);
 * each execution reports its bytes every 1–3 s.
 */
export function simulateJob(kind: JobKind, seed: number, jobId = `eta-${kind}-${seed}`): SimulatedJob {
  const next = seededRandom(seed);
  const between = (low: number, high: number) => low + (high - low) * next();
  const chain: StepSpec[] =
    kind === "slow"
      ? [
          { name: "scanned", robot: "/file/virusscan", meanSeconds: 3 },
          { name: "encoded", robot: "/video/encode", meanSeconds: 30 },
          { name: "stored", robot: "/s3/store", meanSeconds: 3 },
        ]
      : [
          { name: "resized", robot: "/image/resize", meanSeconds: 8 },
          { name: "optimized", robot: "/image/optimize", meanSeconds: 8 },
          { name: "stored", robot: "/s3/store", meanSeconds: 8 },
        ];
  const plan: Plan["steps"] = {};
  chain.forEach((step, index) => {
    plan[step.name] = { robot: step.robot, use: index === 0 ? ":original" : chain[index - 1]!.name };
  });
  const originals = Math.round(between(12, 60));
  const workers = Math.round(between(2, 8));
  const retryShare = kind === "retries" ? 0.2 : 0;

  const timed: { event: Event; atMs: number }[] = [];
  let id = 0;
  const emit = (atMs: number, fields: Record<string, unknown>) => {
    const event = { v: 1, job_id: jobId, event_id: `e${String(++id).padStart(7, "0")}`, at: new Date(atMs).toISOString(), ...fields } as unknown as Event;
    timed.push({ event, atMs });
  };
  emit(START_MS, { type: "job.declared", plan: { steps: plan }, expect_originals: originals });
  for (let o = 0; o < originals; o++) emit(START_MS + 10, { type: "original.added", original_id: `f${o}`, mime: kind === "slow" ? "video/mp4" : "image/png" });
  emit(START_MS + 20, { type: "originals.sealed" });

  // Ready executions in order of readiness; a worker takes the oldest one when it is free.
  const ready: { original: number; step: number; readyMs: number }[] = [];
  for (let o = 0; o < originals; o++) ready.push({ original: o, step: 0, readyMs: START_MS + 1_000 });
  const freeAt: number[] = Array.from({ length: workers }, () => START_MS + 1_000);
  let finishMs = START_MS;
  while (ready.length > 0) {
    ready.sort((a, b) => a.readyMs - b.readyMs || a.step - b.step || a.original - b.original);
    const execution = ready.shift()!;
    const worker = freeAt.indexOf(Math.min(...freeAt));
    let clock = Math.max(freeAt[worker]!, execution.readyMs);
    const spec = chain[execution.step]!;
    const common = { step: spec.name, original_id: `f${execution.original}` };
    for (let attempt = 1; ; attempt++) {
      const durationMs = spec.meanSeconds * 1000 * between(0.7, 1.3);
      const failsAt = next() < retryShare ? between(0.3, 0.9) : null;
      const totalBytes = Math.round(durationMs * 1000);
      emit(clock, { type: "step.started", ...common, attempt });
      const reportEveryMs = between(1_000, 3_000);
      let elapsed = reportEveryMs;
      while (elapsed < durationMs * (failsAt ?? 1)) {
        emit(clock + elapsed, { type: "step.progress", ...common, attempt, progress: [Math.round(totalBytes * (elapsed / durationMs)), totalBytes], unit: "Bytes" });
        elapsed += reportEveryMs;
      }
      if (failsAt !== null) {
        clock += durationMs * failsAt;
        emit(clock, { type: "step.failed", ...common, attempt, error: "worker lost", will_retry: true });
        continue;
      }
      clock += durationMs;
      emit(clock, { type: "step.completed", ...common, attempt, result_count: 1 });
      break;
    }
    freeAt[worker] = clock;
    finishMs = Math.max(finishMs, clock);
    if (execution.step + 1 < chain.length) ready.push({ original: execution.original, step: execution.step + 1, readyMs: clock });
  }
  emit(finishMs + 100, { type: "job.completed" });

  let flushMs = START_MS;
  const arrivals = timed
    .sort((a, b) => a.atMs - b.atMs)
    .map(({ event, atMs }) => {
      if (kind !== "bursty") return { event, arrivalMs: atMs + between(50, 300) };
      while (flushMs < atMs) flushMs += between(15_000, 45_000);
      return { event, arrivalMs: flushMs };
    })
    .sort((a, b) => a.arrivalMs - b.arrivalMs);
  return { arrivals, finishMs };
}

export interface EtaObservation {
  atMs: number;
  displayed: number | null;
  etaSeconds: number | null;
  /** Elapsed time since the job was declared × (100 − displayed) ÷ displayed: the floor. */
  naiveEtaSeconds: number | null;
  trueRemainingSeconds: number;
}

/** Folds a simulated job batch by batch, as the reducer would, and records what each snapshot showed. */
export function observeJob(job: SimulatedJob): EtaObservation[] {
  const jobId = job.arrivals[0]!.event.job_id;
  const state = createJobState(jobId);
  const observations: EtaObservation[] = [];
  let index = 0;
  while (index < job.arrivals.length) {
    const batchMs = Math.ceil(job.arrivals[index]!.arrivalMs / BATCH_WINDOW_MS) * BATCH_WINDOW_MS;
    const batch: Event[] = [];
    while (index < job.arrivals.length && job.arrivals[index]!.arrivalMs <= batchMs) batch.push(job.arrivals[index++]!.event);
    reduce(state, batch, batchMs);
    const snapshot = renderSnapshot(state);
    const displayed = snapshot.progress_combined;
    observations.push({
      atMs: batchMs,
      displayed,
      etaSeconds: snapshot.eta_seconds,
      naiveEtaSeconds: displayed === null || displayed <= 0 ? null : (((batchMs - START_MS) / 1000) * (100 - displayed)) / displayed,
      trueRemainingSeconds: Math.max(0, (job.finishMs - batchMs) / 1000),
    });
  }
  return observations;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return NaN;
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

export interface KindReport {
  kind: JobKind;
  jobs: number;
  /** Per checkpoint: median absolute percentage error over the jobs that showed a value, and how many showed null. */
  checkpoints: { percent: number; mape: number; nulls: number; naiveMape: number }[];
  absurd: number;
}

export function measureKind(kind: JobKind, jobs: number, firstSeed = 1): KindReport {
  const errors = new Map<number, number[]>(CHECKPOINTS.map((p) => [p, []]));
  const naiveErrors = new Map<number, number[]>(CHECKPOINTS.map((p) => [p, []]));
  const nulls = new Map<number, number>(CHECKPOINTS.map((p) => [p, 0]));
  let absurd = 0;
  for (let seed = firstSeed; seed < firstSeed + jobs; seed++) {
    const observations = observeJob(simulateJob(kind, seed));
    for (const observation of observations) {
      const elapsedSeconds = (observation.atMs - START_MS) / 1000;
      if (observation.etaSeconds !== null && observation.etaSeconds > 100 * Math.max(elapsedSeconds, 1)) absurd++;
    }
    for (const percent of CHECKPOINTS) {
      const at = observations.find((o) => o.displayed !== null && o.displayed >= percent);
      if (at === undefined || at.trueRemainingSeconds <= 0) continue;
      if (at.naiveEtaSeconds !== null) naiveErrors.get(percent)!.push(Math.abs(at.naiveEtaSeconds - at.trueRemainingSeconds) / at.trueRemainingSeconds);
      if (at.etaSeconds === null) nulls.set(percent, nulls.get(percent)! + 1);
      else errors.get(percent)!.push(Math.abs(at.etaSeconds - at.trueRemainingSeconds) / at.trueRemainingSeconds);
    }
  }
  return {
    kind,
    jobs,
    checkpoints: CHECKPOINTS.map((percent) => ({ percent, mape: median(errors.get(percent)!) * 100, nulls: nulls.get(percent)!, naiveMape: median(naiveErrors.get(percent)!) * 100 })),
    absurd,
  };
}

export async function main(args: string[]): Promise<void> {
  const kinds = args.length > 0 ? JOB_KINDS.filter((kind) => args.includes(kind)) : JOB_KINDS;
  let absurd = 0;
  for (const kind of kinds) {
    const report = measureKind(kind, JOBS_PER_KIND);
    absurd += report.absurd;
    for (const { percent, mape, nulls, naiveMape } of report.checkpoints) {
      console.log(`eta_${kind}_mape_at_${percent}: ${mape.toFixed(1)}`);
      console.log(`eta_${kind}_null_at_${percent}: ${nulls}/${report.jobs}`);
      console.log(`eta_${kind}_naive_mape_at_${percent}: ${naiveMape.toFixed(1)}`);
    }
    const sum = (values: number[]) => values.reduce((total, value) => total + value, 0);
    console.log(`eta_${kind}_mape_over_naive: ${(sum(report.checkpoints.map((c) => c.mape)) / sum(report.checkpoints.map((c) => c.naiveMape))).toFixed(2)}`);
  }
  console.log(`eta_absurd: ${absurd}`);
}
