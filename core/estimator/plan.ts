/**
 * A plan compiled for estimation: steps in topological order with their inputs, robot rules and
 * filters resolved (core/instructions/plan-graph.ts `readSteps`), so that the estimator's loops touch arrays,
 * numbers and memoised verdicts, never the raw plan or robot parameters.
 */
import type { Plan } from "../contract/plan.ts";
import { filterVerdict, type Verdict } from "../instructions/filter.ts";
import { ORIGINAL, readSteps, topologicalOrder, type StepReading, type StepRun } from "../instructions/plan-graph.ts";

export type StepKind = StepRun;

export interface CompiledStep {
  name: string;
  index: number;
  robot: string;
  kind: StepKind;
  /** Indices of the steps whose results are its inputs (one execution each, or one per original); `ORIGINAL_INPUT` stands for `:original`. */
  uses: number[];
  /** Per entry of `uses`: the form fields whose originals pass it; null: every file. */
  useFields: (string[] | null)[];
  accepts: string[] | null;
  resultsPerInput: number | "unpredictable";
  /** /file/filter: results per input (0 or 1) by the input's MIME type; null when it cannot be told before the step runs. */
  filter: ((mime: string) => Verdict) | null;
  outputMime: string | null;
  weight: number;
}

export const ORIGINAL_INPUT = -1;

export interface CompiledPlan {
  steps: CompiledStep[];
  byName: Map<string, CompiledStep>;
  /** True when some step consumes uploads (`:original`): then the job waits for its upload to complete. */
  usesOriginals: boolean;
  sourceSteps: CompiledStep[];
}

/** Verdicts remembered per filter step: a job has few MIME types, but a producer may send any number. */
const VERDICTS_PER_FILTER = 256;

function memoisedFilter(reading: StepReading): ((mime: string) => Verdict) | null {
  const rule = reading.filter;
  if (rule === null) return null;
  const verdicts = new Map<string, Verdict>();
  return (mime) => {
    let verdict = verdicts.get(mime);
    if (verdict === undefined) {
      verdict = filterVerdict(rule, isUnknownMime(mime) ? null : mime);
      if (verdicts.size < VERDICTS_PER_FILTER) verdicts.set(mime, verdict);
    }
    return verdict;
  };
}

/**
 * Compiles a plan. Total: the contract refuses unknown uses and cycles, but a plan that slipped
 * past it (stored before a rule existed) still compiles — its unknown or cyclic uses are ignored —
 * so that no plan can make the estimator throw and block its job.
 */
export function compilePlan(plan: Plan): CompiledPlan {
  const readings = readSteps(plan.steps);
  const byReading = new Map(readings.map((reading) => [reading.name, reading]));
  const topo = topologicalOrder(readings);
  const ordered = "order" in topo ? topo.order : orderDespiteCycle(readings);
  const indexOf = new Map(ordered.map((name, index) => [name, index]));
  const steps = ordered.map((name, index): CompiledStep => {
    const reading = byReading.get(name)!;
    // The same step named twice (two roles, two field filters) is one input, passing either's files.
    const fieldsOf = new Map<number, string[] | null>();
    for (const edge of reading.edges) {
      if (!edge.isPrimary) continue;
      const upstream = edge.from === ORIGINAL ? ORIGINAL_INPUT : indexOf.get(edge.from);
      if (upstream === undefined || upstream >= index) continue;
      const known = fieldsOf.get(upstream);
      fieldsOf.set(upstream, !fieldsOf.has(upstream) ? edge.fields : known === null || edge.fields === null ? null : [...new Set([...known!, ...edge.fields])]);
    }
    const uses = [...fieldsOf.keys()];
    return {
      name,
      index,
      robot: reading.robot,
      kind: reading.run === "source" || uses.length > 0 ? reading.run : "source",
      uses,
      useFields: uses.map((used) => fieldsOf.get(used)!),
      accepts: reading.accepts,
      resultsPerInput: reading.results,
      filter: memoisedFilter(reading),
      outputMime: reading.outputMime,
      weight: reading.weight,
    };
  });
  return {
    steps,
    byName: new Map(steps.map((step) => [step.name, step])),
    usesOriginals: steps.some((step) => step.uses.includes(ORIGINAL_INPUT)),
    sourceSteps: steps.filter((step) => step.kind === "source"),
  };
}

/** Steps that can be ordered first, then the rest in declaration order (their uses of later steps are dropped). */
function orderDespiteCycle(readings: StepReading[]): string[] {
  const position = new Map(readings.map((reading, index) => [reading.name, index]));
  const acyclic = readings.map((reading) => ({
    name: reading.name,
    edges: reading.edges.filter((edge) => edge.from === ORIGINAL || (position.get(edge.from) ?? Infinity) < position.get(reading.name)!),
  }));
  const topo = topologicalOrder(acyclic);
  return "order" in topo ? topo.order : readings.map((reading) => reading.name);
}

/** The type of a file whose producer named none: it passes only steps that accept anything. */
const UNSTATED_MIME = "application/octet-stream";

export function mimeOrUnknown(mime: string | null | undefined): string {
  return mime ?? UNSTATED_MIME;
}

/**
 * A MIME type not known yet (an original seen only in step reports so far) is written `?` followed
 * by the patterns it is known to match, comma-separated (`?` alone: anything; `?image/*`: some
 * image type, learnt because an image-only step ran on it). Such a type may make a step's
 * acceptance undecidable, which makes the estimate that depends on it unavailable.
 */
export const UNKNOWN_MIME = "?";

export function isUnknownMime(mime: string): boolean {
  return mime.startsWith(UNKNOWN_MIME);
}

function constraintOf(mime: string): string[] {
  return mime.length === 1 ? ["*/*"] : mime.slice(1).split(",");
}

/** Pattern `a` matches every type that pattern (or type) `b` matches. */
function covers(a: string, b: string): boolean {
  if (a === "*/*" || a === b) return true;
  return a.endsWith("/*") && b.startsWith(a.slice(0, -1));
}

function overlaps(a: string, b: string): boolean {
  return covers(a, b) || covers(b, a);
}

export function accepts(patterns: string[] | null, mime: string): boolean {
  if (patterns === null) return true;
  const slash = mime.indexOf("/");
  const type = mime.slice(0, slash);
  for (const pattern of patterns) {
    if (pattern === "*/*" || pattern === mime) return true;
    if (pattern.endsWith("/*") && pattern.slice(0, -2) === type) return true;
  }
  return false;
}

/** Whether a step with these `accepts` patterns takes an input of this type; null when it cannot be told yet. */
export function acceptance(patterns: string[] | null, mime: string): boolean | null {
  if (patterns === null) return true;
  if (!isUnknownMime(mime)) return accepts(patterns, mime);
  const constraint = constraintOf(mime);
  if (constraint.every((known) => patterns.some((pattern) => covers(pattern, known)))) return true;
  if (constraint.every((known) => patterns.every((pattern) => !overlaps(pattern, known)))) return false;
  return null;
}

/** An unknown type narrowed by the fact that a step with these patterns took it. */
export function narrowUnknownMime(patterns: string[] | null, mime: string): string {
  if (patterns === null) return mime;
  const narrowed = new Set<string>();
  for (const known of constraintOf(mime)) {
    for (const pattern of patterns) {
      if (covers(pattern, known)) narrowed.add(known);
      else if (covers(known, pattern)) narrowed.add(pattern);
    }
  }
  return UNKNOWN_MIME + [...narrowed].sort().join(",");
}
