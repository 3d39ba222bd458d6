/**
 * Clearing the change feed's announcements once their jobs were served, beside the next tick: a
 * job's announcement is cleared up to the version rendered, and until that clear has ended the
 * ticks skip the job unless it announces a later version. A clear that fails forgets its entry,
 * so the announcement stays and the job is served again (at least once, never lost).
 */
import type { ChangedJob, ChangeFeed } from "../../core/ports.ts";
import type { Log } from "../config.ts";

export interface Clearing {
  /** The jobs announced and not being cleared (or announced again since). */
  changedJobs(): Promise<ChangedJob[]>;
  /** Clears these announcements up to these versions, in the background. */
  clear(cleared: readonly { job: ChangedJob; version: number }[], log: Log): void;
  /** Resolves when every clear begun so far has ended. */
  settled(): Promise<void>;
}

/** Runs `work` over `items`, `concurrency` at a time. */
export async function inBatches<T>(items: readonly T[], concurrency: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, items.length) }, async () => {
      while (next < items.length) await work(items[next++]!);
    }),
  );
}

export function createClearing(changeFeed: ChangeFeed): Clearing {
  /** Jobs served whose announcements are being cleared: job → the version cleared up to. */
  const clearing = new Map<string, number>();
  const clears = new Set<Promise<void>>();
  const keyOf = (job: ChangedJob) => `${job.tenant}\n${job.jobId}\n${job.incarnation}`;
  return {
    async changedJobs() {
      return (await changeFeed.changedJobs()).filter((job) => (clearing.get(keyOf(job)) ?? -1) < job.version);
    },
    clear(cleared, log) {
      for (const { job, version } of cleared) clearing.set(keyOf(job), Math.max(version, clearing.get(keyOf(job)) ?? -1));
      const done = inBatches(cleared, 64, async ({ job, version }) => {
        await changeFeed.clearChanged(job, version).catch((error: unknown) => log("warn", "announcement not cleared (the job is sent again)", { tenant: job.tenant, job_id: job.jobId, error: String(error) }));
        if (clearing.get(keyOf(job)) === version) clearing.delete(keyOf(job));
      }).finally(() => clears.delete(done));
      clears.add(done);
    },
    async settled() {
      while (clears.size > 0) await Promise.all(clears);
    },
  };
}
