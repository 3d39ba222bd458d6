/**
 * How good is `eta_seconds`, as users see it? Simulated jobs with a known true finish time are
 * folded through the real estimator the way the reducer folds them (events grouped into batches
 * by arrival time, `reduce(state, batch, batchTime)`), and each batch's snapshot is compared with
 * the truth. The service sees only what producers send (the events with their `at`); the
 * simulation's own knowledge (durations, sizes, workers) never reaches it.
 *
 * The measure (one per kind of job): at the first snapshot whose displayed `progress_combined`
 * reaches 25, 50 and 75 %, the absolute error of `eta_seconds` against the true remaining time,
 * in % of the truth; a `null` ETA counts as a 100 % error. The medians over the jobs at the three
 * checkpoints are summed, for Headway and for the naive rule a client could apply to the bar
 * alone (the time since the job was declared × (100 − p) ÷ p), and divided:
 *
 *   eta_<kind>_at_<p>: <median error, %> (naive <median error, %>; null <jobs showing null>/<jobs>)
 *   eta_<kind>_over_naive_at_<p>: <median error ÷ the naive median error>
 *   eta_<kind>_over_naive: <the three medians summed ÷ the naive three summed>   (target ≤ 1; ≤ 0.5 for slow, queued, mixed)
 *   eta_absurd: <snapshots with an eta above 100 × the job's elapsed time> (must be 0)
 *
 * Deterministic (seeded jobs), so unlike a timing it never moves from run to run.
 *
 * Kinds (12–60 files through a three-step chain on 2–8 workers; each execution reports its way
 * through its file's bytes every 1–3 s):
 *   steady   executions of similar length (8 s ± 30 %); reports arrive within a second
 *   bursty   the same work, but the producer flushes its reports every 15–45 s
 *   slow     the middle step takes 10× as long (3 s, 30 s, 3 s) for the same weight
 *   retries  20 % of executions fail part-way and start over (attempt + 1)
 *   queued   the job waits 1–4 minutes for workers before its first step starts
 *   mixed    file sizes vary 40×: every step of a file takes 2 s × its size (1–40, log-uniform)
 *
 * `npm run bench -- eta vary` measures the same kinds under other shapes (one worker, many
 * workers, a handful of files, hundreds, depth-first and random order) to check that the
 * estimator generalises beyond the jobs above; `BENCH_ETA_JOBS` sets the jobs per kind (200).
 */
import type { Event } from "../core/contract/events.ts";
import type { Plan } from "../core/contract/plan.ts";
import { reduce } from "../core/estimator/reduce.ts";
import { seededRandom } from "../test/support/seeded-random.ts";
import { renderSnapshot } from "../core/estimator/snapshot.ts";
import { createJobState } from "../core/estimator/state.ts";

export type JobKind = "steady" | "bursty" | "slow" | "retries" | "queued" | "mixed";
export const JOB_KINDS: readonly JobKind[] = ["steady", "bursty", "slow", "retries", "queued", "mixed"];
export const CHECKPOINTS = [25, 50, 75] as const;
const JOBS_PER_KIND = Number(process.env.BENCH_ETA_JOBS ?? 200);
const START_MS = Date.parse("2026-11-22T10:00:00.000Z");
/** A file of size 1; each step reports its progress through the file's bytes. */
const FILE_BYTES = 50_000_000;
/** The reducer commits once per batch; SQS long polling with a batching window of about a second. */
const BATCH_WINDOW_MS = 1_000;

/**
 * Which ready execution a free worker takes: the one ready longest (breadth-first: every file's
 * first step before the later ones catch up), a file's next step first (depth-first), or any.
 */
export type WorkOrder = "breadth" | "depth" | "random";

/** The shape of the simulated jobs; each range is drawn from per job. */
export interface Scenario {
  originals: [number, number];
  workers: [number, number];
  order: WorkOrder;
}

export const DEFAULT_SCENARIO: Scenario = { originals: [12, 60], workers: [2, 8], order: "breadth" };

/** Other shapes for `vary`: the estimator must not be tuned to the default one. */
export const VARIED_SCENARIOS: Record<string, Scenario> = {
  one_worker: { originals: [5, 20], workers: [1, 1], order: "breadth" },
  many_workers: { originals: [40, 120], workers: [16, 32], order: "breadth" },
  few_files: { originals: [2, 6], workers: [1, 4], order: "breadth" },
  many_files: { originals: [150, 300], workers: [4, 12], order: "breadth" },
  depth_first: { originals: [12, 60], workers: [2, 8], order: "depth" },
  random_order: { originals: [12, 60], workers: [2, 8], order: "random" },
};

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

function chainOf(kind: JobKind): StepSpec[] {
  if (kind === "slow") {
    return [
      { name: "scanned", robot: "/file/virusscan", meanSeconds: 3 },
      { name: "encoded", robot: "/video/encode", meanSeconds: 30 },
      { name: "stored", robot: "/s3/store", meanSeconds: 3 },
    ];
  }
  const meanSeconds = kind === "mixed" ? 2 : 8;
  return [
    { name: "resized", robot: "/image/resize", meanSeconds },
    { name: "optimized", robot: "/image/optimize", meanSeconds },
    { name: "stored", robot: "/s3/store", meanSeconds },
  ];
}

/**
 * One simulated job: files each go through a chain of steps; a free worker takes a ready
 * execution (in the scenario's order) and runs it to its end, reporting its bytes every 1–3 s.
 */
export function simulateJob(kind: JobKind, seed: number, scenario: Scenario = DEFAULT_SCENARIO, jobId = `eta-${kind}-${seed}`): SimulatedJob {
  const next = seededRandom(seed);
  const between = (low: number, high: number) => low + (high - low) * next();
  const chain = chainOf(kind);
  const plan: Plan["steps"] = {};
  chain.forEach((step, index) => {
    plan[step.name] = { robot: step.robot, use: index === 0 ? ":original" : chain[index - 1]!.name };
  });
  const originals = Math.round(between(...scenario.originals));
  const workers = Math.round(between(...scenario.workers));
  const retryShare = kind === "retries" ? 0.2 : 0;
  const waitMs = kind === "queued" ? between(60_000, 240_000) : 0;
  const sizes = Array.from({ length: originals }, () => (kind === "mixed" ? 40 ** next() : 1));

  const timed: { event: Event; atMs: number }[] = [];
  let id = 0;
  const emit = (atMs: number, fields: Record<string, unknown>) => {
    const event = { v: 1, job_id: jobId, event_id: `e${String(++id).padStart(7, "0")}`, at: new Date(atMs).toISOString(), ...fields } as unknown as Event;
    timed.push({ event, atMs });
  };
  emit(START_MS, { type: "job.declared", plan: { steps: plan }, expect_originals: originals });
  for (let o = 0; o < originals; o++) emit(START_MS + 10, { type: "original.added", original_id: `f${o}`, mime: kind === "slow" ? "video/mp4" : "image/png" });
  emit(START_MS + 20, { type: "originals.sealed" });

  const ready: { original: number; step: number; readyMs: number }[] = [];
  for (let o = 0; o < originals; o++) ready.push({ original: o, step: 0, readyMs: START_MS + 1_000 });
  const freeAt: number[] = Array.from({ length: workers }, () => START_MS + 1_000 + waitMs);
  let finishMs = START_MS;
  while (ready.length > 0) {
    const worker = freeAt.indexOf(Math.min(...freeAt));
    const earliest = Math.min(...ready.map((execution) => execution.readyMs));
    let clock = Math.max(freeAt[worker]!, earliest);
    const execution = takeReady(ready, clock, scenario.order, next);
    const spec = chain[execution.step]!;
    const common = { step: spec.name, original_id: `f${execution.original}` };
    for (let attempt = 1; ; attempt++) {
      const durationMs = spec.meanSeconds * 1000 * sizes[execution.original]! * between(0.7, 1.3);
      const failsAt = next() < retryShare ? between(0.3, 0.9) : null;
      const totalBytes = Math.round(FILE_BYTES * sizes[execution.original]!);
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

/** Removes and returns the execution a worker free at `clock` takes (one ready by then exists). */
function takeReady(ready: { original: number; step: number; readyMs: number }[], clock: number, order: WorkOrder, next: () => number) {
  const candidates = ready.map((execution, index) => ({ execution, index })).filter(({ execution }) => execution.readyMs <= clock);
  let chosen = candidates[0]!;
  for (const candidate of candidates.slice(1)) {
    const a = candidate.execution;
    const b = chosen.execution;
    const isBetter =
      order === "depth"
        ? a.step !== b.step ? a.step > b.step : a.original !== b.original ? a.original < b.original : a.readyMs < b.readyMs
        : a.readyMs !== b.readyMs ? a.readyMs < b.readyMs : a.step !== b.step ? a.step < b.step : a.original < b.original;
    if (isBetter) chosen = candidate;
  }
  if (order === "random") chosen = candidates[Math.floor(next() * candidates.length)]!;
  ready.splice(chosen.index, 1);
  return chosen.execution;
}

export interface EtaObservation {
  atMs: number;
  displayed: number | null;
  etaSeconds: number | null;
  /** Elapsed time since the job was declared × (100 − displayed) ÷ displayed: what a client could work out from the bar alone. */
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

const sum = (values: number[]) => values.reduce((total, value) => total + value, 0);

export interface CheckpointReport {
  percent: number;
  /** Median absolute error in % of the true remaining time (a null ETA: 100 %). */
  error: number;
  naiveError: number;
  nulls: number;
}

export interface KindReport {
  kind: JobKind;
  jobs: number;
  checkpoints: CheckpointReport[];
  /** The three medians summed ÷ the naive rule's three summed (the ratio the target is set on; below 1: better than the bar alone). */
  overNaive: number;
  absurd: number;
}

/** `transform` changes what the service is shown (tests plant bugs with it). */
export function measureKind(kind: JobKind, jobs: number, scenario: Scenario = DEFAULT_SCENARIO, firstSeed = 1, transform: (job: SimulatedJob) => SimulatedJob = (job) => job): KindReport {
  const errors = new Map<number, number[]>(CHECKPOINTS.map((p) => [p, []]));
  const naiveErrors = new Map<number, number[]>(CHECKPOINTS.map((p) => [p, []]));
  const nulls = new Map<number, number>(CHECKPOINTS.map((p) => [p, 0]));
  let absurd = 0;
  for (let seed = firstSeed; seed < firstSeed + jobs; seed++) {
    const observations = observeJob(transform(simulateJob(kind, seed, scenario)));
    for (const observation of observations) {
      const elapsedSeconds = (observation.atMs - START_MS) / 1000;
      if (observation.etaSeconds !== null && observation.etaSeconds > 100 * Math.max(elapsedSeconds, 1)) absurd++;
    }
    for (const percent of CHECKPOINTS) {
      const at = observations.find((o) => o.displayed !== null && o.displayed >= percent);
      if (at === undefined || at.trueRemainingSeconds <= 0 || at.naiveEtaSeconds === null) continue;
      const truth = at.trueRemainingSeconds;
      naiveErrors.get(percent)!.push(Math.abs(at.naiveEtaSeconds - truth) / truth);
      if (at.etaSeconds === null) nulls.set(percent, nulls.get(percent)! + 1);
      errors.get(percent)!.push(at.etaSeconds === null ? 1 : Math.abs(at.etaSeconds - truth) / truth);
    }
  }
  const checkpoints = CHECKPOINTS.map((percent) => ({ percent, error: median(errors.get(percent)!) * 100, naiveError: median(naiveErrors.get(percent)!) * 100, nulls: nulls.get(percent)! }));
  return { kind, jobs, checkpoints, overNaive: sum(checkpoints.map((c) => c.error)) / sum(checkpoints.map((c) => c.naiveError)), absurd };
}

const TARGETS: Record<JobKind, number> = { steady: 1, bursty: 1, slow: 0.5, retries: 1, queued: 0.5, mixed: 0.5 };

function print(prefix: string, report: KindReport): void {
  for (const { percent, error, naiveError, nulls } of report.checkpoints) {
    console.log(`${prefix}_at_${percent}: ${error.toFixed(1)} (naive ${naiveError.toFixed(1)}; null ${nulls}/${report.jobs})`);
    console.log(`${prefix}_over_naive_at_${percent}: ${(error / naiveError).toFixed(2)}`);
  }
  console.log(`${prefix}_over_naive: ${report.overNaive.toFixed(2)} (target ≤ ${TARGETS[report.kind]})`);
}

export async function main(args: string[]): Promise<void> {
  const isVaried = args.includes("vary");
  const named = JOB_KINDS.filter((kind) => args.includes(kind));
  const kinds = named.length > 0 ? named : JOB_KINDS;
  let absurd = 0;
  const scenarios: [string, Scenario][] = isVaried ? Object.entries(VARIED_SCENARIOS) : [["", DEFAULT_SCENARIO]];
  for (const [name, scenario] of scenarios) {
    for (const kind of kinds) {
      // Varied shapes run on other seeds than the default one's jobs.
      const report = measureKind(kind, JOBS_PER_KIND, scenario, isVaried ? 100_000 : 1);
      absurd += report.absurd;
      print(name === "" ? `eta_${kind}` : `eta_${name}_${kind}`, report);
    }
  }
  console.log(`eta_absurd: ${absurd}`);
}
