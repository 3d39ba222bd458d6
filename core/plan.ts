/**
 * A plan compiled for estimation: steps in topological order with the catalogue's defaults
 * resolved, so that the estimator's loops touch arrays and numbers, never the raw plan.
 */
import type { Plan, PlanStep } from "./contract.ts";
import { robotDefaults } from "./catalogue.ts";
import { ORIGINAL, topologicalOrder, usesOf } from "./plan-graph.ts";

/** Where a step's executions are counted. */
export type StepKind =
  | "per-input" // one execution per accepted input
  | "per-job" // `per: "job"`: one execution over all inputs, counted in the combined figure only
  | "source"; // no `use`: an import that runs once per job; its results are originals

export interface CompiledStep {
  name: string;
  index: number;
  robot: string;
  kind: StepKind;
  /** Indices of the steps it uses; `ORIGINAL_INPUT` stands for `:original`. */
  uses: number[];
  accepts: string[] | null;
  resultsPerInput: number | "unpredictable";
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

/**
 * Compiles a plan. Total: the contract refuses unknown uses and cycles, but a plan that slipped
 * past it (stored before a rule existed) still compiles — its unknown or cyclic uses are ignored —
 * so that no plan can make the estimator throw and block its job.
 */
export function compilePlan(plan: Plan): CompiledPlan {
  const declared = new Map(Object.entries(plan.steps).filter(([name]) => name !== ORIGINAL));
  const topo = topologicalOrder(Object.fromEntries(declared));
  const ordered = "order" in topo ? topo.order : orderDespiteCycle(declared);
  const indexOf = new Map(ordered.map((name, index) => [name, index]));
  const steps = ordered.map((name, index): CompiledStep => {
    const step = declared.get(name)!;
    const defaults = robotDefaults(step);
    const uses: number[] = [];
    for (const used of usesOf(step)) {
      const upstream = used === ORIGINAL ? ORIGINAL_INPUT : indexOf.get(used);
      if (upstream !== undefined && upstream < index) uses.push(upstream);
    }
    return {
      name,
      index,
      robot: step.robot,
      kind: uses.length === 0 ? "source" : step.per === "job" ? "per-job" : "per-input",
      uses,
      accepts: step.accepts ?? defaults.accepts ?? null,
      resultsPerInput: step.results_per_input ?? defaults.resultsPerInput ?? 1,
      outputMime: step.output_mime ?? defaults.outputMime ?? null,
      weight: step.weight ?? 1,
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
function orderDespiteCycle(declared: Map<string, PlanStep>): string[] {
  const acyclic = new Map([...declared].map(([name, step]) => [name, { use: usesOf(step).filter((used) => used === ORIGINAL || (declared.has(used) && used < name)) }]));
  const topo = topologicalOrder(Object.fromEntries(acyclic));
  return "order" in topo ? topo.order : [...declared.keys()];
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
