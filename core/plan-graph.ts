/**
 * The shape of a plan's `use` graph: which step feeds which, in a topological order.
 * Used by the contract (to reject unknown steps, cycles and runaway fan-out, naming them) and by
 * the compiled plan. Step names come from producers, so they are only ever looked up in Maps or
 * with Object.hasOwn: `"constructor" in steps` is true of every plain object.
 */

export const ORIGINAL = ":original";

export interface GraphProblem {
  path: (string | number)[];
  message: string;
}

interface GraphStep {
  use?: string | string[] | undefined;
}

export function usesOf(step: GraphStep): string[] {
  if (step.use === undefined) return [];
  return typeof step.use === "string" ? [step.use] : step.use;
}

function stepMap<S extends GraphStep>(steps: Record<string, S>): Map<string, S> {
  return new Map(Object.entries(steps));
}

/** Problems with the graph: `use` naming an unknown step, a cycle (named step by step), a fan-out past `maxFanOut`. */
export function validatePlanGraph(
  steps: Record<string, GraphStep & { results_per_input?: number | "unpredictable" | undefined; per?: string | undefined }>,
  maxFanOut = Infinity,
): GraphProblem[] {
  const problems: GraphProblem[] = [];
  const byName = stepMap(steps);
  for (const [name, step] of byName) {
    if (name === ORIGINAL && step.use !== undefined) {
      problems.push({ path: [name, "use"], message: `${ORIGINAL} stands for the originals themselves and uses nothing` });
      continue;
    }
    usesOf(step).forEach((used, index) => {
      if (used !== ORIGINAL && !byName.has(used)) {
        const path = typeof step.use === "string" ? [name, "use"] : [name, "use", index];
        problems.push({ path, message: `step "${name}" uses unknown step "${used}" (use a declared step or ${ORIGINAL})` });
      }
    });
  }
  if (problems.length > 0) return problems;
  const order = topologicalOrder(steps);
  if ("cycle" in order) {
    problems.push({ path: [order.cycle[0]!, "use"], message: `steps form a cycle: ${order.cycle.join(" → ")}` });
    return problems;
  }
  // Executions predicted per original multiply along the DAG; past a bound they stop meaning
  // anything and, unbounded, reach Infinity (and NaN percentages). Unpredictable counts as 1.
  const fanOut = new Map<string, number>();
  for (const name of order.order) {
    const step = byName.get(name)!;
    let inputs = 0;
    for (const used of usesOf(step)) inputs += used === ORIGINAL ? 1 : (fanOut.get(used) ?? 0);
    if (usesOf(step).length === 0 || step.per === "job") inputs = 1;
    const perInput = typeof step.results_per_input === "number" ? step.results_per_input : 1;
    if (inputs > maxFanOut) {
      problems.push({ path: [name, "use"], message: `the plan predicts more than ${maxFanOut} executions of step "${name}" per original file` });
      return problems;
    }
    fanOut.set(name, inputs * perInput);
  }
  return problems;
}

/**
 * Steps in an order where every step comes after the steps it uses (Kahn's algorithm, ties broken
 * by declaration order so that the result is deterministic), or the first cycle found.
 */
export function topologicalOrder(steps: Record<string, GraphStep>): { order: string[] } | { cycle: string[] } {
  const byName = stepMap(steps);
  const names = [...byName.keys()];
  const remaining = new Map<string, number>();
  const users = new Map<string, string[]>();
  for (const [name, step] of byName) {
    const upstream = usesOf(step).filter((used) => used !== ORIGINAL && used !== name && byName.has(used));
    const selfLoop = usesOf(step).includes(name);
    remaining.set(name, upstream.length + (selfLoop ? 1 : 0));
    for (const used of upstream) users.set(used, [...(users.get(used) ?? []), name]);
  }
  const order: string[] = [];
  const ready = names.filter((name) => remaining.get(name) === 0);
  while (ready.length > 0) {
    const name = ready.shift()!;
    order.push(name);
    for (const user of users.get(name) ?? []) {
      const left = remaining.get(user)! - 1;
      remaining.set(user, left);
      if (left === 0) ready.push(user);
    }
  }
  if (order.length === names.length) return { order };
  return { cycle: findCycle(byName, new Set(names.filter((name) => remaining.get(name)! > 0))) };
}

function findCycle(byName: Map<string, GraphStep>, stuck: Set<string>): string[] {
  // Every stuck step has a stuck upstream, so walking upstream must revisit a step.
  let current = [...stuck][0]!;
  const seen: string[] = [];
  while (!seen.includes(current)) {
    seen.push(current);
    current = usesOf(byName.get(current)!).find((used) => stuck.has(used))!;
  }
  const cycle = seen.slice(seen.indexOf(current));
  return [...cycle.reverse(), cycle[0]!];
}
