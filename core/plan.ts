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

const UNKNOWN_MIME = "application/octet-stream";

export function mimeOrUnknown(mime: string | null | undefined): string {
  return mime ?? UNKNOWN_MIME;
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
