/**
 * The shape of a plan's `use` graph: which step feeds which, in a topological order.
 * Used by the contract (to reject unknown steps and cycles, naming them) and by the compiled plan.
 */

export const ORIGINAL = ":original";

export interface GraphProblem {
  path: (string | number)[];
  message: string;
}

export function usesOf(step: { use?: string | string[] | undefined }): string[] {
  if (step.use === undefined) return [];
  return typeof step.use === "string" ? [step.use] : step.use;
}

/** Problems with the graph: `use` naming an unknown step, or a cycle (named step by step). */
export function validatePlanGraph(steps: Record<string, { use?: string | string[] | undefined }>): GraphProblem[] {
  const problems: GraphProblem[] = [];
  for (const [name, step] of Object.entries(steps)) {
    usesOf(step).forEach((used, index) => {
      if (used !== ORIGINAL && !(used in steps)) {
        const path = typeof step.use === "string" ? [name, "use"] : [name, "use", index];
        problems.push({ path, message: `step "${name}" uses unknown step "${used}"` });
      }
    });
  }
  if (problems.length > 0) return problems;
  const order = topologicalOrder(steps);
  if ("cycle" in order) {
    problems.push({ path: [order.cycle[0]!, "use"], message: `steps form a cycle: ${order.cycle.join(" → ")}` });
  }
  return problems;
}

/**
 * Steps in an order where every step comes after the steps it uses (Kahn's algorithm, ties broken
 * by declaration order so that the result is deterministic), or the first cycle found.
 */
export function topologicalOrder(
  steps: Record<string, { use?: string | string[] | undefined }>,
): { order: string[] } | { cycle: string[] } {
  const names = Object.keys(steps);
  const remaining = new Map<string, number>();
  const users = new Map<string, string[]>();
  for (const name of names) {
    const upstream = usesOf(steps[name]!).filter((used) => used !== ORIGINAL && used !== name && used in steps);
    const selfLoop = usesOf(steps[name]!).includes(name);
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
  return { cycle: findCycle(steps, new Set(names.filter((name) => remaining.get(name)! > 0))) };
}

function findCycle(steps: Record<string, { use?: string | string[] | undefined }>, stuck: Set<string>): string[] {
  // Every stuck step has a stuck upstream, so walking upstream must revisit a step.
  let current = [...stuck][0]!;
  const seen: string[] = [];
  while (!seen.includes(current)) {
    seen.push(current);
    current = usesOf(steps[current]!).find((used) => stuck.has(used))!;
  }
  const cycle = seen.slice(seen.indexOf(current));
  return [...cycle.reverse(), cycle[0]!];
}
