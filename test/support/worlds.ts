/**
 * Generated jobs for the permutation law (docs/estimation.md): a plan of one of several shapes, its
 * originals, and the event log of a run of it that stopped anywhere. Each execution the plan
 * implies reaches its own stage (not reported, started, in flight, retried, completed, failed for
 * good); an execution's reports grow with time, result counts are the ones the plan predicts,
 * and later steps are reported only on results that exist. Reports name their original or only
 * their input, at random, so execution identity is exercised both ways.
 */
import fc from "fast-check";
import type { Event } from "../../core/contract/events.ts";
import type { Plan } from "../../core/contract/plan.ts";
import { accepts } from "../../core/estimator/plan.ts";

export type Shape = "chain" | "video" | "unzip" | "import" | "instructions" | "indicators";

const PLANS: Record<Exclude<Shape, "indicators">, Plan["steps"]> = {
  chain: {
    a: { robot: "/image/resize", use: ":original" },
    b: { robot: "/image/optimize", use: "a" },
    c: { robot: "/s3/store", use: "b" },
  },
  video: {
    ":original": { robot: "/upload/handle" },
    thumbs: { robot: "/video/thumbs", use: ":original", accepts: ["video/*"], results_per_input: 3, output_mime: "image/jpeg" },
    encoded: { robot: "/video/encode", use: ":original", accepts: ["video/*"] },
    resized: { robot: "/image/resize", use: ["thumbs", ":original"], accepts: ["image/*"], weight: 2 },
    stored: { robot: "/s3/store", use: ["encoded", "resized"] },
    archive: { robot: "/file/compress", use: ["stored"], per: "job" },
  },
  unzip: {
    unzipped: { robot: "/file/decompress", use: ":original", accepts: ["application/zip"] },
    scanned: { robot: "/file/virusscan", use: ["unzipped", ":original"], accepts: ["text/*"] },
    stored: { robot: "/s3/store", use: ["scanned"] },
  },
  import: {
    imported: { robot: "/http/import" },
    resized: { robot: "/image/resize", use: "imported", accepts: ["image/*"] },
    stored: { robot: "/s3/store", use: "resized" },
  },
  // Transloadit's own forms: a filter by MIME type, a step without `use` (it reads the step
  // declared before it), `use` objects with roles, and a bundle that runs once per original.
  instructions: {
    ":original": { robot: "/upload/handle" },
    images: { robot: "/file/filter", use: ":original", accepts: [["${file.mime}", "regex", "^image/"]], error_on_decline: false },
    resized: { robot: "/image/resize", width: 320, height: 240 },
    clips: { robot: "/video/encode", use: { steps: [{ name: ":original", as: "video" }] }, preset: "webm", ffmpeg_stack: "v6" },
    thumbs: { robot: "/video/thumbs", use: "clips", count: 2 },
    bundled: { robot: "/file/hash", use: { steps: ["clips", "thumbs"], bundle_steps: true } },
    stored: { robot: "/s3/store", use: ["resized", "bundled"], credentials: "s3" },
  },
};

const MIMES: Record<Exclude<Shape, "indicators">, readonly string[]> = {
  chain: ["image/png"],
  video: ["video/mp4", "image/png", "text/plain"],
  unzip: ["application/zip", "text/plain", "image/png"],
  import: ["image/png", "video/mp4"],
  instructions: ["video/mp4", "image/png", "text/plain"],
};

/** How far one execution got. */
type Stage = "none" | "started" | "progress" | "completed" | "failed";

export interface World {
  shape: Shape;
  declared: Event;
  /** The rest of the log, in the order the run produced it. */
  log: Event[];
  /** Originals whose every predicted execution finished in this log. */
  finishedFiles: Set<string>;
  isJobFinished: boolean;
  /** Jobs of counters: the indicators the run ends with (only each task's last attempt counts, under every label). */
  expectedIndicators: { label: string | null; done: number; total: number }[] | null;
}

interface Choices {
  shape: Shape;
  mimes: string[];
  upload: "expect" | "seal" | "declared" | "unknown+seal";
  /** Per original: is it announced (original.added / declaration) with its type? */
  announced: boolean[];
  /** Per imported file: does the import's result name it as an original? */
  owned: boolean[];
  /** A pool of per-execution choices, consumed in order (cycled). */
  stages: Stage[];
  retries: boolean[];
  namesOriginal: boolean[];
  unzipCounts: number[];
  progressSteps: number[];
  terminal: "none" | "completed" | "failed";
  tasks: { label: string | null; relabel: string | null; amounts: number[]; retried: boolean; isReported: boolean }[];
}

const STAGES: Stage[] = ["none", "started", "progress", "progress", "completed", "completed", "completed", "completed", "failed"];

const choicesArbitrary: fc.Arbitrary<Choices> = fc
  .constantFrom<Shape>("chain", "video", "unzip", "import", "instructions", "indicators")
  .chain((shape) =>
    fc.record({
      shape: fc.constant(shape),
      mimes: fc.array(fc.constantFrom(...(shape === "indicators" ? ["text/plain"] : MIMES[shape])), { minLength: 1, maxLength: 4 }),
      upload: fc.constantFrom("expect", "seal", "declared", "unknown+seal"),
      announced: fc.array(fc.boolean(), { minLength: 4, maxLength: 4 }),
      owned: fc.array(fc.boolean(), { minLength: 4, maxLength: 4 }),
      stages: fc.array(fc.constantFrom(...STAGES), { minLength: 1, maxLength: 40 }),
      retries: fc.array(fc.boolean(), { minLength: 1, maxLength: 12 }),
      namesOriginal: fc.array(fc.boolean(), { minLength: 1, maxLength: 16 }),
      unzipCounts: fc.array(fc.nat(3), { minLength: 1, maxLength: 4 }),
      progressSteps: fc.array(fc.integer({ min: 1, max: 3 }), { minLength: 1, maxLength: 8 }),
      terminal: fc.constantFrom("none", "none", "completed", "failed"),
      tasks: fc.array(
        fc.record({
          label: fc.constantFrom(null, "pages", "bytes"),
          // A retry may report under other labels than its first attempt did.
          relabel: fc.constantFrom(null, "pages", "bytes", "tiles"),
          amounts: fc.array(fc.integer({ min: 1, max: 9 }), { minLength: 1, maxLength: 3 }),
          retried: fc.boolean(),
          isReported: fc.boolean(),
        }),
        { maxLength: 4 },
      ),
    }),
  );

export const worldArbitrary: fc.Arbitrary<World> = choicesArbitrary.map(buildWorld);

function cycle<T>(values: T[]): () => T {
  let next = 0;
  return () => values[next++ % values.length]!;
}

const BASE_MS = Date.parse("2026-11-22T10:00:00.000Z");

export function buildWorld(choices: Choices): World {
  const jobId = "job-w";
  let sequence = 0;
  const log: Event[] = [];
  const event = (fields: Record<string, unknown>, atMs: number): Event =>
    ({ v: 1, job_id: jobId, event_id: `e${String(++sequence).padStart(5, "0")}`, at: new Date(BASE_MS + atMs).toISOString(), ...fields }) as Event;

  const originals = choices.mimes.map((mime, index) => ({ id: `f${index}`, mime, announced: choices.announced[index] ?? true }));
  const shape = choices.shape;
  // An import's plan says how many files it brings, as a producer that knows would.
  const plan = shape === "indicators" ? null : shape === "import" ? { ...PLANS.import, imported: { robot: "/http/import", results_per_input: choices.mimes.length } } : PLANS[shape];
  const count = originals.length;
  const declaration: Record<string, unknown> = { type: "job.declared", emit_execution_progress: true };
  if (plan !== null) declaration.plan = { steps: plan };
  if (shape !== "indicators" && shape !== "import") {
    if (choices.upload === "expect") declaration.expect_originals = count;
    if (choices.upload === "unknown+seal") declaration.expect_originals = "unknown";
    if (choices.upload === "declared") declaration.originals = originals.map((o) => ({ original_id: o.id, mime: o.mime }));
  }
  const declared = event(declaration, 0);

  const stageOf = cycle(choices.stages);
  const retryOf = cycle(choices.retries);
  const namesOf = cycle(choices.namesOriginal);
  const unzipCountOf = cycle(choices.unzipCounts);
  const progressStepsOf = cycle(choices.progressSteps);
  const unfinished = new Set<string>();
  const failedFiles = new Set<string>();
  let isJobWorkUnfinished = false;

  /** The reports of one execution; returns how far it got. */
  const run = (step: string, inputId: string, originalId: string | null, depth: number, results: Record<string, unknown>): "completed" | "failed" | "unfinished" => {
    const stage = stageOf();
    if (stage === "none") return "unfinished";
    const isRetried = retryOf() && stage !== "started";
    const t0 = depth * 100_000 + sequence * 10;
    const who = (names: boolean): Record<string, unknown> => {
      const fields: Record<string, unknown> = { step };
      if (originalId === null) {
        if (inputId !== "") fields.input_id = inputId;
      } else if (inputId === originalId) {
        if (names) fields.original_id = originalId;
        else fields.input_id = inputId;
      } else {
        fields.input_id = inputId;
        if (names) fields.original_id = originalId;
      }
      return fields;
    };
    let attempt = 1;
    let t = t0;
    if (isRetried) {
      log.push(event({ type: "step.started", ...who(namesOf()), attempt }, (t += 1000)));
      log.push(event({ type: "step.progress", ...who(namesOf()), attempt, progress: [1, 4] }, (t += 1000)));
      log.push(event({ type: "step.failed", ...who(namesOf()), attempt, error: "transient", will_retry: true }, (t += 1000)));
      attempt = 2;
    }
    log.push(event({ type: "step.started", ...who(namesOf()), attempt }, (t += 1000)));
    if (stage === "started") return "unfinished";
    const steps = progressStepsOf();
    // A retried execution gets past where its first attempt was before this log may stop.
    const reach = stage === "progress" && !isRetried ? steps : steps + 1;
    for (let k = 1; k <= Math.min(reach, 3); k++) {
      log.push(event({ type: "step.progress", ...who(namesOf()), attempt, progress: [k * 2 + (isRetried ? 1 : 0), 10], unit: "Bytes" }, (t += 1000)));
    }
    if (stage === "progress" && !isRetried) return "unfinished";
    if (stage === "failed") {
      log.push(event({ type: "step.failed", ...who(namesOf()), attempt, error: "corrupt input", will_retry: false }, (t += 1000)));
      // A failure for good finishes its file (failed), whatever else the file was still to run.
      if (originalId !== null) failedFiles.add(originalId);
      return "failed";
    }
    log.push(event({ type: "step.completed", ...who(namesOf()), attempt, ...results }, (t += 1000)));
    return "completed";
  };

  /** Runs a per-input step chain from one input through the plan; returns whether everything downstream finished. */
  const flow = (originalId: string | null, inputs: { id: string; mime: string; from: string }[], depth: number): boolean => {
    if (plan === null) return true;
    let isFinished = true;
    for (const [name, step] of Object.entries(plan)) {
      if (name === ":original" || step.per === "job" || step.use === undefined) continue;
      const uses = (typeof step.use === "string" ? [step.use] : step.use) as string[];
      for (const input of inputs.filter((candidate) => uses.includes(candidate.from))) {
        const patterns = (step.accepts as string[] | undefined) ?? (step.robot.startsWith("/image/") ? ["image/*"] : null);
        if (!accepts(patterns, input.mime)) continue;
        const perInput = step.robot === "/file/decompress" ? unzipCountOf() : typeof step.results_per_input === "number" ? step.results_per_input : 1;
        const outputMime = step.output_mime ?? (step.robot === "/file/decompress" ? "text/plain" : input.mime);
        const resultIds = Array.from({ length: perInput }, (_, k) => `${name}-${input.id}-${k}`);
        // Results of an unpredictable step say their type; the others' follow from the plan.
        const results = step.robot === "/file/decompress" ? { results: resultIds.map((id) => ({ result_id: id, mime: outputMime })) } : { result_count: perInput };
        const outcome = run(name, input.id, originalId, depth, results);
        // A file whose execution failed for good is finished (failed); one cut short is not.
        if (outcome === "unfinished") isFinished = false;
        if (outcome !== "completed") continue;
        const next = resultIds.map((id) => ({ id, mime: outputMime, from: name }));
        if (!flow(originalId, next, depth + 1)) isFinished = false;
      }
    }
    return isFinished;
  };

  /** An original through the "instructions" plan, as Transloadit runs it; returns whether all of its work finished. */
  const flowInstructions = (original: { id: string; mime: string }): boolean => {
    let isFinished = true;
    const step = (name: string, inputId: string, depth: number, results: Record<string, unknown>) => {
      const outcome = run(name, inputId, original.id, depth, results);
      if (outcome === "unfinished") isFinished = false;
      return outcome === "completed";
    };
    if (original.mime.startsWith("image/")) {
      if (step("images", original.id, 1, { results: [{ result_id: `images-${original.id}`, mime: original.mime }] })) {
        if (step("resized", `images-${original.id}`, 2, { result_count: 1 })) step("stored", `resized-${original.id}`, 3, { result_count: 1 });
      }
    } else step("images", original.id, 1, { results: [] }); // declined: no result
    if (original.mime.startsWith("video/") && step("clips", original.id, 1, { result_count: 1 })) {
      // The bundle runs once over the original's renditions, when all of them are there.
      if (step("thumbs", `clips-${original.id}`, 2, { result_count: 2 }) && step("bundled", original.id, 3, { result_count: 1 })) {
        step("stored", `bundled-${original.id}`, 4, { result_count: 1 });
      }
    }
    return isFinished;
  };

  let expectedIndicators: World["expectedIndicators"] = null;
  if (shape === "indicators") {
    const values = new Map<string | null, { done: number; total: number }>();
    const tally = (label: string | null, done: number, total: number) => {
      const value = values.get(label) ?? { done: 0, total: 0 };
      values.set(label, { done: value.done + done, total: value.total + total });
    };
    choices.tasks.forEach((task, index) => {
      const taskId = `t${index}`;
      const total = task.amounts.reduce((a, b) => a + b, 0);
      const report = (attempt: number, label: string | null, amounts: number[]) => {
        if (task.isReported) {
          // The SDK's form: the attempt's running totals, the largest of which wins.
          let done = 0;
          for (const amount of amounts) {
            done += amount;
            log.push(event({ type: "indicator.reported", label, task_id: taskId, attempt, added: total, done }, sequence * 10));
          }
          return;
        }
        log.push(event({ type: "indicator.added", label, task_id: taskId, attempt, amount: total }, sequence * 10));
        for (const amount of amounts) log.push(event({ type: "indicator.done", label, task_id: taskId, attempt, amount }, sequence * 10));
      };
      const last = task.retried ? task.relabel : task.label;
      if (task.retried) {
        report(1, task.label, task.amounts.slice(0, 1));
        tally(task.label, 0, 0); // its label stays listed, with nothing of the replaced attempt
      }
      report(task.retried ? 2 : 1, last, task.amounts);
      tally(last, total, total);
    });
    expectedIndicators = [...values]
      .sort(([a], [b]) => (a === b ? 0 : a === null ? -1 : b === null ? 1 : a < b ? -1 : 1))
      .map(([label, value]) => ({ label, ...value }));
  } else if (shape === "import") {
    // Some imported files are named as originals, others not: their work counts all the same.
    const isOwned = (index: number) => choices.owned[index] ?? true;
    const results = originals.map((o, index) => (isOwned(index) ? { result_id: `r-${o.id}`, original_id: o.id, mime: o.mime } : { result_id: `r-${o.id}`, mime: o.mime }));
    const imported = run("imported", "", null, 0, { results });
    if (imported === "unfinished") isJobWorkUnfinished = true;
    else if (imported === "completed") {
      originals.forEach((original, index) => {
        if (isOwned(index)) {
          if (!flow(original.id, [{ id: original.id, mime: original.mime, from: "imported" }], 1)) unfinished.add(original.id);
        } else if (!flow(null, [{ id: `r-${original.id}`, mime: original.mime, from: "imported" }], 1)) isJobWorkUnfinished = true;
      });
    }
  } else {
    for (const original of originals) {
      if (original.announced && choices.upload !== "declared") log.push(event({ type: "original.added", original_id: original.id, mime: original.mime }, 50));
      const isFinished = shape === "instructions" ? flowInstructions(original) : flow(original.id, [{ id: original.id, mime: original.mime, from: ":original" }], 1);
      if (!isFinished) unfinished.add(original.id);
    }
    if (choices.upload === "seal" || choices.upload === "unknown+seal") log.push(event({ type: "originals.sealed", count }, 60));
    // Originals never announced nor reported are unknown to the job: it cannot finish.
    const reported = new Set(log.flatMap((e) => ("original_id" in e && e.original_id !== undefined ? [e.original_id] : [])));
    const known = originals.filter((o) => choices.upload === "declared" || o.announced || reported.has(o.id)).length;
    if (known < count) isJobWorkUnfinished = true;
    if (plan !== null && Object.values(plan).some((step) => step.per === "job")) {
      const allDone = unfinished.size === 0 && !isJobWorkUnfinished;
      if (!allDone || run("archive", "", null, 9, { result_count: 1 }) === "unfinished") isJobWorkUnfinished = true;
    }
  }
  for (const id of failedFiles) unfinished.delete(id);
  // Imported files that no result named are not files of the job.
  const files = shape === "import" ? originals.filter((_, index) => choices.owned[index] ?? true) : originals;
  const finishedFiles = new Set(files.map((o) => o.id).filter((id) => !unfinished.has(id)));
  const isJobFinished = shape === "indicators" ? true : unfinished.size === 0 && !isJobWorkUnfinished;
  if (choices.terminal === "completed" && isJobFinished) log.push(event({ type: "job.completed" }, 10_000_000));
  if (choices.terminal === "failed") log.push(event({ type: "job.failed", error: "stopped" }, 10_000_000));
  return { shape, declared, log, finishedFiles, isJobFinished, expectedIndicators };
}
