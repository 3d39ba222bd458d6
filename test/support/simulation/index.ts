/**
 * The delivery simulation (the delivery guarantees of docs/realtime.md), in the style of FoundationDB's and
 * TigerBeetle's: one seed decides everything — the workload, the order of every step, every
 * fault — and the real services run together over the in-memory fakes of test/support/fakes/
 * with a fake clock: the reducer handler, two tickers sharing a lease (each with its WebSocket and
 * webhook channels), the WebSocket routes, the connection sweep and the webhook sender. Every
 * job's final state must equal the fault-free fold of its events; once the faults stop and the
 * system settles, the guarantees are checked.
 *
 * The parts, each handed the run's context (context.ts: the seeded random, the clock, the fault
 * plan, the fakes, the findings): chaos.ts (what fails, how often), fakes.ts (the fakes of a run),
 * workload.ts (the jobs and their producer), clients.ts (the subscribers), services.ts (the real
 * handlers), hazards.ts (issue 25's revocations, refused creates, clock jumps), plants.ts (bugs
 * planted to show they are caught), schedule.ts (the rounds and the settling) and guarantees.ts.
 *
 * Replay a failing seed: HEADWAY_SEED=<n> npx vitest run test/delivery.simulation.test.ts
 * (it prints the seed's trace); HEADWAY_RUNS=<n> sets how many seeds run (default 1,000).
 */
import { vi } from "vitest";
import { seededRandom } from "../seeded-random.ts";
import { createAudience } from "./clients.ts";
import { createContext } from "./context.ts";
import { checkGuarantees } from "./guarantees.ts";
import { createHazards } from "./hazards.ts";
import type { SimOptions, SimResult } from "./model.ts";
import { runRounds, settle } from "./schedule.ts";
import { startServices } from "./services.ts";
import { planJobs } from "./workload.ts";

export type { Plant, SimOptions, SimResult } from "./model.ts";

/**
 * One seed's run. The reducer sleeps a random while before retrying a lost race (two batches of
 * one job at once): its timers run on vitest's fake clock and `Math.random` draws from the seed,
 * so that too replays.
 */
export async function simulate(seed: number, options: SimOptions = {}): Promise<SimResult> {
  const random = seededRandom(seed);
  vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
  const seededMathRandom = vi.spyOn(Math, "random").mockImplementation(random);
  try {
    return await run(seed, options, random);
  } finally {
    seededMathRandom.mockRestore();
    vi.useRealTimers();
  }
}

/** The parts are built in the order their draws were first made: reordering them changes what every seed does. */
async function run(seed: number, options: SimOptions, random: () => number): Promise<SimResult> {
  const ctx = createContext(seed, options, random);
  const jobs = await planJobs(ctx);
  const audience = createAudience(ctx, jobs);
  const services = startServices(ctx, audience);
  const cast = { jobs, audience, services, hazards: createHazards(ctx, jobs, audience) };
  await runRounds(ctx, cast);
  await settle(ctx, cast);
  await checkGuarantees(ctx, jobs, audience.all);
  return { violations: ctx.violations, trace: ctx.trace, stats: ctx.stats };
}
