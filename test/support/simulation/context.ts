/**
 * The context every part of one run is handed: the seeded random and the fake clock, what the run
 * records (violations, the trace, counts), the fault plan and the fakes. Built in a fixed order
 * (the fault plan's draws come first), so that a seed replays exactly.
 */
import { seededRandom } from "../seeded-random.ts";
import { planFaults, type FaultPlan } from "./chaos.ts";
import { createSimFakes, type SimFakes } from "./fakes.ts";
import { START_MS, type Run, type SimOptions } from "./model.ts";

export interface SimContext extends Run {
  readonly faults: FaultPlan;
  readonly fakes: SimFakes;
}

/** `random` is the seed's sequence (the caller also hands it to `Math.random`, which the reducer's retry delay draws from). */
export function createContext(seed: number, options: SimOptions, random: () => number): SimContext {
  const run = createRun(seed, options, random);
  const faults = planFaults(run);
  return Object.assign(run, { faults, fakes: createSimFakes(run, faults) });
}

function createRun(seed: number, options: SimOptions, random: () => number): Run {
  // What this seed tries beyond delivery faults (issue 25), drawn apart so that the other draws stay as they were.
  const features = seededRandom(seed * 7919 + 25);
  const run: Run = {
    seed,
    options,
    random,
    draw: (n) => Math.floor(random() * n),
    nowMs: START_MS,
    now: () => run.nowMs,
    isChaotic: false, // the setup is calm
    features: { revokesAKey: features() < 0.4, jumpsTheClock: features() < 0.25, takesLargeBatches: features() < 0.3 },
    violations: [],
    trace: [],
    stats: {},
    count(what, n = 1) {
      run.stats[what] = (run.stats[what] ?? 0) + n;
    },
    note(line) {
      if (options.trace) run.trace.push(`[${run.nowMs - START_MS} ms] ${line}`);
    },
    violation(line) {
      run.violations.push(line);
      run.note(`VIOLATION ${line}`);
    },
  };
  return run;
}
