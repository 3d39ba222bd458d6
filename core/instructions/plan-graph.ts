/**
 * How a plan's steps read: which step feeds which (`use` in all its forms, or the step declared
 * before it), how each runs, and what it makes (core/instructions/catalogue.ts). Used by the contract (to
 * reject unknown steps, cycles and runaway fan-out, naming them) and by the compiled plan. Step
 * names come from producers, so they are only ever looked up in Maps or with Object.hasOwn:
 * `"constructor" in steps` is true of every plain object.
 */
import { isSourceRobot, robotRule, UPLOAD_ROBOT, type FilterRule, type StepParameters } from "./catalogue.ts";

export const ORIGINAL = ":original";

export interface GraphProblem {
  path: (string | number)[];
  message: string;
}

/** One input of a step: a step's results, or `:original`, maybe only the originals of some form fields. */
export interface UseEdge {
  from: string;
  /** Form fields whose originals pass; null: every file. */
  fields: string[] | null;
  /** Inputs of the step's first `as` role (or of a `use` without roles): one execution each. The others ride along. */
  isPrimary: boolean;
  /** Where in `use` the name was given (for messages); null for an input the plan left implicit. */
  path: (string | number)[] | null;
}

/** How a step's executions are counted. */
export type StepRun =
  | "per-input" // one execution per accepted input
  | "per-original" // one execution per original over all of its inputs (a bundling `use`)
  | "per-job" // one execution over all inputs, counted in the combined figure only
  | "source"; // no input (an import, a generator): once per job; an import's results are originals

export interface StepReading {
  name: string;
  robot: string;
  edges: UseEdge[];
  run: StepRun;
  accepts: string[] | null;
  results: number | "unpredictable";
  filter: FilterRule | null;
  outputMime: string | null;
  weight: number;
}

/** The shape of a plan step this module reads (core/contract/events.ts `PlanStep`). */
export interface GraphStep extends StepParameters {
  robot: string;
}

function field(value: Readonly<Record<string, unknown>>, key: string): unknown {
  return Object.hasOwn(value, key) ? value[key] : undefined;
}

function fieldList(value: unknown): string[] | null {
  if (typeof value === "string") return [value];
  if (Array.isArray(value) && value.every((item) => typeof item === "string")) return value as string[];
  return null;
}

const isObject = (value: unknown): value is Readonly<Record<string, unknown>> => typeof value === "object" && value !== null && !Array.isArray(value);

const isBundleFlag = (value: unknown): boolean => value === true || value === "true";

/**
 * A `use` in any of Transloadit's forms: a step name, a list of names (or of `{name, as,
 * fields}`), or `{steps, bundle_steps, group_by_original, fields}`. Entries with `as` roles pass
 * files to one execution "at the same time" (Transloadit's Assembly Instructions docs): the
 * entries of the first role are the step's inputs, the others ride along.
 */
export function readUse(use: unknown): { edges: UseEdge[]; isBundled: boolean; byOriginal: boolean } {
  let entries: unknown = use;
  let path: (string | number)[] = [];
  let isBundled = false;
  let byOriginal = false;
  let commonFields: string[] | null = null;
  if (isObject(use)) {
    entries = field(use, "steps");
    path = ["steps"];
    isBundled = isBundleFlag(field(use, "bundle_steps"));
    byOriginal = isBundleFlag(field(use, "group_by_original"));
    commonFields = fieldList(field(use, "fields"));
  }
  const list = Array.isArray(entries) ? entries : [entries];
  const named = list.map((entry, index) => {
    const at = Array.isArray(entries) ? [...path, index] : path;
    if (typeof entry === "string") return { from: entry, role: null, fields: commonFields, path: at };
    if (isObject(entry)) {
      const name = field(entry, "name");
      const role = field(entry, "as");
      return { from: typeof name === "string" ? name : "", role: typeof role === "string" ? role : null, fields: fieldList(field(entry, "fields")) ?? commonFields, path: [...at, "name"] };
    }
    return { from: "", role: null, fields: commonFields, path: at };
  });
  const primaryRole = named[0]?.role ?? null;
  return { edges: named.map(({ role, ...edge }) => ({ ...edge, isPrimary: role === primaryRole })), isBundled, byOriginal };
}

/**
 * Every declared step as the estimate reads it, in declaration order, less `/upload/handle` steps
 * (the upload source: a use of one is a use of `:original`). A step with no `use` reads the step
 * declared just before it (`:original` when it is the first), unless its robot needs no input.
 * Total: references to unknown steps are kept (validatePlanGraph names them; compilePlan drops them).
 */
export function readSteps(steps: Readonly<Record<string, GraphStep>>): StepReading[] {
  const names = Object.keys(steps);
  const uploads = new Set(names.filter((name) => steps[name]!.robot === UPLOAD_ROBOT));
  const readings: StepReading[] = [];
  names.forEach((name, position) => {
    const step = steps[name]!;
    if (uploads.has(name)) return;
    const use = field(step, "use");
    let edges: UseEdge[];
    let run: StepRun = "per-input";
    let isBundled = false;
    let byOriginal = false;
    if (use !== undefined) ({ edges, isBundled, byOriginal } = readUse(use));
    else if (isSourceRobot(step.robot, step)) {
      edges = [];
      run = "source";
    } else edges = [{ from: position === 0 ? ORIGINAL : names[position - 1]!, fields: null, isPrimary: true, path: null }];
    edges = edges.map((edge) => (uploads.has(edge.from) ? { ...edge, from: ORIGINAL } : edge));
    const rule = robotRule(step.robot, step);
    if (run !== "source") {
      if (rule.joining === "join") run = isBundled && byOriginal ? "per-original" : "per-job";
      else if (isBundled) run = rule.joining === "combine" && !byOriginal ? "per-job" : "per-original";
    }
    const per = field(step, "per");
    if (run !== "source" && per === "job") run = "per-job";
    if (run !== "source" && per === "input") run = "per-input";
    const accepts = field(step, "accepts");
    const results = field(step, "results_per_input");
    const outputMime = field(step, "output_mime");
    const weight = field(step, "weight");
    const hasOwnResults = typeof results === "number" || results === "unpredictable";
    readings.push({
      name,
      robot: step.robot,
      edges,
      run,
      // On /file/filter, `accepts` is the robot's own conditions (its rule's filter).
      accepts: rule.filter === null && Array.isArray(accepts) ? (accepts as string[]) : rule.accepts,
      results: hasOwnResults ? (results as number | "unpredictable") : rule.results,
      filter: hasOwnResults ? null : rule.filter,
      outputMime: typeof outputMime === "string" ? outputMime : rule.outputMime,
      weight: typeof weight === "number" ? weight : 1,
    });
  });
  return readings;
}

/** Problems with the graph: `use` naming an unknown step, a cycle (named step by step), a fan-out past `maxFanOut`. */
export function validatePlanGraph(steps: Readonly<Record<string, GraphStep>>, maxFanOut = Infinity): GraphProblem[] {
  const problems: GraphProblem[] = [];
  const original = Object.hasOwn(steps, ORIGINAL) ? steps[ORIGINAL] : undefined;
  if (original !== undefined && field(original, "use") !== undefined) {
    problems.push({ path: [ORIGINAL, "use"], message: `${ORIGINAL} stands for the originals themselves and uses nothing` });
  }
  const readings = readSteps(steps);
  const byName = new Map(readings.map((reading) => [reading.name, reading]));
  for (const reading of readings) {
    for (const edge of reading.edges) {
      if (edge.from === ORIGINAL || byName.has(edge.from)) continue;
      problems.push({
        path: [reading.name, "use", ...(edge.path ?? [])],
        message: `step "${reading.name}" uses unknown step "${edge.from}" (use a declared step or ${ORIGINAL})`,
      });
    }
  }
  if (problems.length > 0) return problems;
  const order = topologicalOrder(readings);
  if ("cycle" in order) {
    problems.push({ path: [order.cycle[0]!, "use"], message: `steps form a cycle: ${order.cycle.join(" → ")}` });
    return problems;
  }
  // Executions predicted per original multiply along the DAG; past a bound they stop meaning
  // anything and, unbounded, reach Infinity (and NaN percentages). Unpredictable counts as 1.
  const fanOut = new Map<string, number>();
  for (const name of order.order) {
    const reading = byName.get(name)!;
    let inputs = 0;
    for (const edge of reading.edges) if (edge.isPrimary) inputs += edge.from === ORIGINAL ? 1 : (fanOut.get(edge.from) ?? 0);
    if (reading.run !== "per-input") inputs = 1;
    const perInput = typeof reading.results === "number" ? reading.results : 1;
    if (inputs > maxFanOut) {
      problems.push({ path: [name, "use"], message: `the plan predicts more than ${maxFanOut} executions of step "${name}" per original file` });
      return problems;
    }
    fanOut.set(name, inputs * perInput);
  }
  return problems;
}

/**
 * Step names in an order where every step comes after the steps it uses (Kahn's algorithm, ties
 * broken by declaration order so that the result is deterministic), or the first cycle found.
 * Uses of unknown steps and of `:original` are ignored.
 */
export function topologicalOrder(readings: readonly { name: string; edges: readonly { from: string }[] }[]): { order: string[] } | { cycle: string[] } {
  const byName = new Map(readings.map((reading) => [reading.name, reading]));
  const upstreamOf = (name: string) => [...new Set(byName.get(name)!.edges.map((edge) => edge.from))].filter((used) => byName.has(used));
  const remaining = new Map<string, number>();
  const users = new Map<string, string[]>();
  for (const { name } of readings) {
    const upstream = upstreamOf(name);
    remaining.set(name, upstream.length);
    for (const used of upstream) if (used !== name) users.set(used, [...(users.get(used) ?? []), name]);
  }
  const order: string[] = [];
  const ready = readings.map(({ name }) => name).filter((name) => remaining.get(name) === 0);
  while (ready.length > 0) {
    const name = ready.shift()!;
    order.push(name);
    for (const user of users.get(name) ?? []) {
      const left = remaining.get(user)! - 1;
      remaining.set(user, left);
      if (left === 0) ready.push(user);
    }
  }
  if (order.length === readings.length) return { order };
  const stuck = new Set(readings.map(({ name }) => name).filter((name) => remaining.get(name)! > 0));
  // Every stuck step has a stuck upstream, so walking upstream must revisit a step.
  let current = [...stuck][0]!;
  const seen: string[] = [];
  while (!seen.includes(current)) {
    seen.push(current);
    current = upstreamOf(current).find((used) => stuck.has(used))!;
  }
  const cycle = seen.slice(seen.indexOf(current));
  return { cycle: [...cycle.reverse(), cycle[0]!] };
}
