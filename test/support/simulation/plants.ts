/**
 * The planted bugs that live outside the fakes (test/delivery.simulation.test.ts shows each one
 * caught): wrappers that break a port the way a plausible bug would. The store's and the API
 * keys' plants are options of their fakes (test/support/fakes/).
 */
import type { ChangeFeed, Poster, Subscriptions } from "../../../core/ports.ts";
import type { SimFakes } from "./fakes.ts";
import type { JobEventFrame } from "./model.ts";

/** A clear that takes away whatever marker the job has, a later announcement included (ticks clear while the next tick runs). */
export function clearIgnoringVersion(feed: ChangeFeed): ChangeFeed {
  return { ...feed, clearChanged: (job) => feed.clearChanged(job, Number.MAX_SAFE_INTEGER) };
}

/** The marker written only when the version moved, so a redelivered batch never announces what a lost marker missed. */
export function markerOnlyWhenVersionMoved(feed: ChangeFeed): ChangeFeed {
  const announced = new Map<string, number>();
  return {
    ...feed,
    async markChanged(changes, nowMs) {
      const moved = changes.filter(({ meta, version }) => {
        const key = `${meta.tenant}#${meta.jobId}#${meta.incarnation}`;
        if ((announced.get(key) ?? -1) >= version) return false;
        announced.set(key, version);
        return true;
      });
      return feed.markChanged(moved, nowMs);
    },
  };
}

/** `job_finished` recorded before it is posted, so a failed post loses it. `tenantOf` names a connection's tenant. */
export function claimingBeforePost(poster: Poster, store: SimFakes["store"], subscriptions: Subscriptions, tenantOf: (connectionId: string) => string | undefined): Poster {
  return {
    ...poster,
    async postAll(deliveries) {
      for (const delivery of deliveries) {
        const frame = JSON.parse(delivery.body) as JobEventFrame;
        const tenant = tenantOf(delivery.connectionId);
        for (const event of frame.event === "batch" ? (frame.events ?? []) : [frame]) {
          const stored = tenant === undefined ? undefined : store.peek({ tenant, jobId: event.job_id ?? "" });
          if (event.event !== "job_finished" || stored === undefined) continue;
          await subscriptions.markFinishedSent(delivery.connectionId, stored.meta, event.data?.version ?? -1).catch(() => {});
        }
      }
      return poster.postAll(deliveries);
    },
  };
}
