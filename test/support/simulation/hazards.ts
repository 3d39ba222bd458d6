/**
 * What a seed tries beyond delivery faults (issue 25), each a step of the schedule: a key revoked
 * mid-run (its clients' tokens must be refused from then on, and their open connections closed
 * by the connection sweep), creates of jobs that exist (refused, leaving the job list whole), and
 * the clock jumping 20 days twice (past the 30 days of retention in all: a job active between
 * the jumps keeps every part, a job idle past the retention expires whole).
 */
import type { Event } from "../../../core/contract/events.ts";
import { partitioningFor } from "../../../core/estimator/partition.ts";
import { reduce } from "../../../core/estimator/reduce.ts";
import { createJobState } from "../../../core/estimator/state.ts";
import { InjectedFault } from "../fakes/index.ts";
import type { Audience } from "./clients.ts";
import type { SimContext } from "./context.ts";
import { DAY_MS, START_MS, TENANTS, type JobPlan, type Life } from "./model.ts";
import { hasEventsToCome } from "./workload.ts";

export type Hazards = ReturnType<typeof createHazards>;

export function createHazards(ctx: SimContext, jobs: readonly JobPlan[], audience: Audience) {
  const { store, apiKeys } = ctx.fakes;
  let revocations = 0;
  let jumps = 0;
  let lastJumpAtMs = START_MS;
  let retriedCreates = 0;
  return {
    /** Revokes one key of a tenant, once per seed: its clients must be refused from now on, and closed by the next sweep. */
    revokeKey(): void {
      if (revocations > 0) return;
      revocations++;
      const tenant = TENANTS[ctx.draw(TENANTS.length)]!;
      const keyId = `key_${tenant}_${1 + ctx.draw(2)}`;
      apiKeys.revoke(tenant, keyId);
      const revoked = audience.all.filter((client) => client.tenant === tenant && client.keyId === keyId);
      for (const client of revoked) client.revokedAtMs = ctx.nowMs;
      ctx.count("keys revoked");
      ctx.note(`${tenant}'s key ${keyId} is revoked (clients ${revoked.map((client) => client.name).join(" ") || "none"})`);
    },

    /** A create of a job that exists (an SDK's retry of createJob): refused, and without a trace (the list stays whole). */
    async createAgain(life: Life): Promise<void> {
      const running = jobs.filter((job) => store.peek(job)?.state.terminal === null);
      if (running.length === 0) return;
      const job = running[ctx.draw(running.length)]!;
      const state = createJobState(job.jobId, partitioningFor(job.events[0] as Extract<Event, { type: "job.declared" }>));
      reduce(state, [job.events[0]!], ctx.nowMs);
      const meta = { tenant: job.tenant, jobId: job.jobId, incarnation: `${job.tenant}-${job.jobId}-retry${++retriedCreates}`, createdAtMs: ctx.nowMs };
      ctx.note(`${job.tenant}/${job.jobId} is created again`);
      const isCreated = await ctx.faults.mortal(store, life).createJob(meta, state).catch((error: unknown) => {
        if (error instanceof InjectedFault) return null;
        throw error;
      });
      if (isCreated === true) ctx.violation(`${job.tenant}/${job.jobId} was created again while it ran`);
      else if (isCreated === false) ctx.count("creates refused (the id is taken)");
    },

    /**
     * The clock jumps 20 days, at most twice: past the retention in all (30 days), so that parts
     * last written before the first jump are older than it by the end, while their job, active
     * between the jumps, must keep them. A jump waits until every running job was written since the
     * last one (a job idle past the retention expires whole, as it should, and its late events would
     * wait for it forever); finished jobs (kept 7 days) may expire whole.
     */
    jumpClock(): void {
      if (jumps >= 2) return;
      const isAtRisk = jobs.some((job) => {
        const stored = store.raw(job);
        if (stored === undefined || !hasEventsToCome(ctx, job)) return false;
        // A job ended early (its terminal event overtook others) is kept 7 days: its late events would find it gone.
        return stored.state.terminal !== null || stored.lastSavedAtMs < lastJumpAtMs;
      });
      if (isAtRisk) return;
      ctx.nowMs += 20 * DAY_MS;
      lastJumpAtMs = ctx.nowMs;
      jumps++;
      ctx.count("clock jumps of 20 days");
      ctx.note("the clock jumps 20 days");
    },
  };
}
