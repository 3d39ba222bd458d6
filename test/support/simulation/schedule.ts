/**
 * The interleaving of one run: rounds of one to three steps at once, each drawn by weight
 * (produce, reducer batch, tick A, tick B, a ticker's run ending, webhook sender batch, a client's
 * move, the clock, the sweep, issue 25's hazards), with faults on; then the faults stop and the
 * system settles (clock past every retry delay, queues drained, ticks until the change feed is
 * empty). Nothing waits on real time: every step runs on microtasks and vitest's fake timers.
 */
import { setImmediate as macrotask } from "node:timers/promises";
import { vi } from "vitest";
import { isSettled, move, settleClient, type Audience } from "./clients.ts";
import type { SimContext } from "./context.ts";
import type { Hazards } from "./hazards.ts";
import type { JobPlan } from "./model.ts";
import type { Services } from "./services.ts";
import { produce } from "./workload.ts";

/** What the steps act on. */
export interface Cast {
  jobs: JobPlan[];
  audience: Audience;
  services: Services;
  hazards: Hazards;
}

type Step = { name: string; run: () => Promise<unknown> };

function weightedSteps(ctx: SimContext, { jobs, audience, services, hazards }: Cast): [number, () => Step][] {
  const { draw, random, features } = ctx;
  const clients = audience.all;
  return [
    [3, () => ({ name: "produce", run: async () => produce(ctx, jobs) })],
    [3, () => ({ name: "reducer", run: () => services.reducerBatch({ isDead: false }) })],
    [2, () => ({ name: "tick A", run: () => services.tick(0) })],
    [2, () => ({ name: "tick B", run: () => services.tick(1) })],
    // A slow tick: the lease lapses under it and the other ticker takes over while it still runs.
    [1, () => ({ name: "ticks at once", run: async () => { const first = services.tick(0); for (let turns = draw(8); turns > 0; turns--) await null; ctx.nowMs += 15_001; await Promise.all([first, services.tick(1)]); } })],
    [0.3, () => ({ name: "run A ends", run: () => services.endRun(0) })],
    [0.3, () => ({ name: "run B ends", run: () => services.endRun(1) })],
    [2, () => ({ name: "sender", run: () => services.senderBatch({ isDead: false }) })],
    [2.5, () => { const client = clients[draw(clients.length)]!; return { name: `move of ${client.name}`, run: () => move(ctx, audience, client, { isDead: false }) }; }],
    [2, () => ({ name: "clock", run: async () => { ctx.nowMs += random() < 0.1 ? 16_000 + draw(20_000) : draw(3_000); } })],
    [1, () => ({ name: "sweep", run: () => services.sweep({ isDead: false }) })],
    [0.5, () => ({ name: "create again", run: () => hazards.createAgain({ isDead: false }) })],
    [features.revokesAKey ? 0.3 : 0, () => ({ name: "revoke a key", run: async () => hazards.revokeKey() })],
    [features.jumpsTheClock ? 0.4 : 0, () => ({ name: "clock jump", run: async () => hazards.jumpClock() })],
  ];
}

/** The chaotic part of the run: 30–69 rounds of steps that overlap. */
export async function runRounds(ctx: SimContext, cast: Cast): Promise<void> {
  const steps = weightedSteps(ctx, cast);
  const totalWeight = steps.reduce((sum, [weight]) => sum + weight, 0);
  const pick = (): Step => {
    let at = ctx.random() * totalWeight;
    for (const [weight, make] of steps) if ((at -= weight) < 0) return make();
    return steps[0]![1]();
  };
  ctx.isChaotic = true;
  const rounds = 30 + ctx.draw(40);
  for (let round = 0; round < rounds; round++) {
    // One to three steps at once, each starting a few microtasks after the previous.
    const diedBefore = ctx.stats.died ?? 0;
    const running = Array.from({ length: 1 + ctx.draw(3) }, () => pick()).map((step) => {
      const state = { step, isDone: false };
      const delay = ctx.draw(4);
      void (async () => {
        for (let turns = delay; turns > 0; turns--) await null;
        await step.run();
        state.isDone = true;
      })().catch((error: unknown) => {
        state.isDone = true;
        ctx.violation(`${step.name} threw ${String(error)}`);
      });
      return state;
    });
    await macrotask(); // every microtask has run
    for (let n = 0; vi.getTimerCount() > 0 && n < 100; n++) {
      vi.advanceTimersToNextTimer(); // a reducer batch that lost a race to another wakes up to retry
      await macrotask();
    }
    // A step still running now waits on a call that will never return: an invocation died in this round.
    for (const state of running) {
      if (state.isDone) continue;
      if ((ctx.stats.died ?? 0) > diedBefore) ctx.note(`${state.step.name} never returns`);
      else ctx.violation(`${state.step.name} is stuck, though no invocation died`);
    }
  }
}

/** Without faults: every message produced and taken, every client settled, every announcement ticked, every webhook sent. */
export async function settle(ctx: SimContext, { jobs, audience, services }: Cast): Promise<void> {
  const { eventsSqs, webhookSqs, feed } = ctx.fakes;
  const clients = audience.all;
  ctx.isChaotic = false;
  ctx.note("faults stop");
  while (jobs.some((job) => job.messages.length > 0)) produce(ctx, jobs, true);
  let isQuiet = false;
  for (let round = 0; round < 80 && !isQuiet; round++) {
    ctx.count("settle rounds");
    for (let n = 0; eventsSqs.visibleCount() > 0 && n < 200; n++) await services.reducerBatch({ isDead: false });
    for (const client of clients) if (!isSettled(ctx, client)) await settleClient(ctx, audience, client);
    for (let n = 0; feed.pending().length > 0 && n < 4; n++) {
      await services.tick(0);
      await services.tick(1);
    }
    await services.sweep({ isDead: false });
    for (let n = 0; webhookSqs.visibleCount() > 0 && n < 200; n++) await services.senderBatch({ isDead: false });
    isQuiet = eventsSqs.size() === 0 && webhookSqs.size() === 0 && feed.pending().length === 0 && clients.every((client) => isSettled(ctx, client));
    // On to the next message that becomes visible (a retry delay, a visibility timeout), or past the lease of a ticker that died.
    if (!isQuiet) ctx.nowMs = Math.max(ctx.nowMs + 1_000, Math.min(eventsSqs.nextVisibleAtMs(), webhookSqs.nextVisibleAtMs(), ctx.nowMs + 16_000));
  }
  if (!isQuiet) ctx.violation(`did not settle: ${eventsSqs.size()} events and ${webhookSqs.size()} webhooks queued, ${feed.pending().length} jobs announced, clients ${clients.filter((client) => !isSettled(ctx, client)).map((client) => client.name).join(" ")} not settled`);
}
