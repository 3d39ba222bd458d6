/**
 * The small tables beside the job store, in memory: API keys (as far as revocation goes), the
 * change feed, the rejection log, connections and subscriptions, the tickers' lease, the webhook log.
 */
import type { ApiKeyStore, ChangeFeed, ChangedJob, Connection, Connections, DeliveryLogEntry, JobRef, Lease, RejectionLog, RejectionRecord, Subscriber, Subscriptions, WebhookLog } from "../../../core/ports.ts";
import { type Chaos, InjectedFault, gate } from "./chaos.ts";
import { jobKey, incarnationKey, metaOf } from "./keys.ts";

/**
 * The API keys subscriber tokens name, as far as revocation goes: a key is active until revoked.
 * The planted bug `revocation-ignored` keeps every key active (the tokens of old, which named no key).
 */
export function createFakeApiKeys(chaos: Chaos, plant?: "revocation-ignored"): Pick<ApiKeyStore, "isActive"> & { revoke(tenant: string, keyId: string): void; isRevoked(tenant: string, keyId: string): boolean } {
  const revoked = new Set<string>();
  return {
    async isActive(tenant, keyId) {
      await gate(chaos, "apiKeys.isActive");
      return plant === "revocation-ignored" || !revoked.has(`${tenant}\n${keyId}`);
    },
    revoke: (tenant, keyId) => void revoked.add(`${tenant}\n${keyId}`),
    isRevoked: (tenant, keyId) => revoked.has(`${tenant}\n${keyId}`),
  };
}

/** One marker per (tenant, job id), overwritten by every announcement; cleared only up to a version, and only for its incarnation. */
export function createFakeChangeFeed(chaos: Chaos): ChangeFeed & { pending(): ChangedJob[] } {
  const markers = new Map<string, ChangedJob>();
  return {
    pending: () => [...markers.values()],
    async markChanged(changes, nowMs) {
      await gate(chaos, "feed.markChanged");
      // Each marker may be lost on its own (a batch write's unprocessed items).
      const unannounced = changes.filter(() => chaos.fails("feed.markChanged:item"));
      for (const change of changes) if (!unannounced.includes(change)) markers.set(jobKey(change.meta), { ...metaOf(change.meta), version: change.version, changedAtMs: nowMs });
      return { unannounced, failure: unannounced.length === 0 ? undefined : new InjectedFault("feed.markChanged:item") };
    },
    async changedJobs() {
      await gate(chaos, "feed.changedJobs");
      return [...markers.values()].map((marker) => ({ ...marker }));
    },
    async clearChanged(job, version) {
      await gate(chaos, "feed.clearChanged");
      const marker = markers.get(jobKey(job));
      if (marker !== undefined && marker.version <= version && marker.incarnation === job.incarnation) markers.delete(jobKey(job));
    },
  };
}

export function createFakeRejectionLog(chaos: Chaos): RejectionLog & { records: RejectionRecord[] } {
  const records: RejectionRecord[] = [];
  return {
    records,
    async record(batch) {
      await gate(chaos, "rejections.record");
      records.push(...batch);
    },
    async list(tenant, job, limit) {
      await gate(chaos, "rejections.list");
      const matches = (r: RejectionRecord) => r.tenant === tenant && (job === null ? r.incarnation === null : r.jobId === job.jobId && r.incarnation === job.incarnation);
      return records.filter(matches).reverse().slice(0, limit);
    },
  };
}

/**
 * Connections and their subscriptions, kept together as the real table keeps them: a job's
 * subscribers under its incarnation (with the version `job_finished` last went out with), and
 * each connection's own list of what it subscribed to, so that removing it removes those too.
 */
export function createFakeConnections(chaos: Chaos): { connections: Connections; subscriptions: Subscriptions; isKnown(connectionId: string): boolean } {
  const connections = new Map<string, Connection>();
  const subscribers = new Map<string, Map<string, Subscriber>>(); // incarnation key → connection → subscriber
  const subscribedTo = new Map<string, Map<string, string>>(); // connection → (tenant, job id) → incarnation key
  const drop = (connectionId: string, ref: JobRef) => {
    const partition = subscribedTo.get(connectionId)?.get(jobKey(ref));
    if (partition !== undefined) subscribers.get(partition)?.delete(connectionId);
    subscribedTo.get(connectionId)?.delete(jobKey(ref));
  };
  return {
    isKnown: (connectionId) => connections.has(connectionId),
    connections: {
      async put(connection) {
        await gate(chaos, "connections.put");
        connections.set(connection.connectionId, { ...connection, scope: [...connection.scope] });
      },
      async get(connectionId) {
        await gate(chaos, "connections.get");
        const connection = connections.get(connectionId);
        return connection === undefined ? null : { ...connection, scope: [...connection.scope] };
      },
      async all() {
        await gate(chaos, "connections.all");
        return [...connections.values()].map((connection) => ({ ...connection, scope: [...connection.scope] }));
      },
      async remove(connectionId) {
        await gate(chaos, "connections.remove");
        for (const partition of subscribedTo.get(connectionId)?.values() ?? []) subscribers.get(partition)?.delete(connectionId);
        subscribedTo.delete(connectionId);
        connections.delete(connectionId);
      },
    },
    subscriptions: {
      async subscribe(connectionId, job) {
        await gate(chaos, "subscriptions.subscribe");
        // Subscribing again keeps what was sent; a new incarnation of the id replaces the old subscription.
        if (subscribedTo.get(connectionId)?.get(jobKey(job)) !== incarnationKey(job)) drop(connectionId, job);
        let list = subscribers.get(incarnationKey(job));
        if (list === undefined) subscribers.set(incarnationKey(job), (list = new Map()));
        const kept = list.get(connectionId) ?? { connectionId, finishedVersion: null };
        list.set(connectionId, kept);
        if (!subscribedTo.has(connectionId)) subscribedTo.set(connectionId, new Map());
        subscribedTo.get(connectionId)!.set(jobKey(job), incarnationKey(job));
        return { finishedVersion: kept.finishedVersion };
      },
      async unsubscribe(connectionId, job) {
        await gate(chaos, "subscriptions.unsubscribe");
        drop(connectionId, job);
      },
      async subscribersOf(jobs) {
        await gate(chaos, "subscriptions.subscribersOf");
        return jobs.map((job) => [...(subscribers.get(incarnationKey(job))?.values() ?? [])].map((subscriber) => ({ ...subscriber })));
      },
      async markFinishedSent(connectionId, job, version) {
        await gate(chaos, "subscriptions.markFinishedSent");
        const subscriber = subscribers.get(incarnationKey(job))?.get(connectionId);
        if (subscriber !== undefined && (subscriber.finishedVersion ?? -1) < version) subscriber.finishedVersion = version;
      },
    },
  };
}

/** One holder at a time, taken over once its time has passed. */
export function createFakeLease(chaos: Chaos, now: () => number): Lease {
  let held: { owner: string; untilMs: number } | null = null;
  return {
    async acquire(owner, forMs) {
      await gate(chaos, "lease.acquire");
      if (held !== null && held.owner !== owner && held.untilMs >= now()) return false;
      held = { owner, untilMs: now() + forMs };
      return true;
    },
    async release(owner) {
      await gate(chaos, "lease.release");
      if (held?.owner === owner) held = null;
    },
  };
}

/** Webhook claims per job incarnation and key, and the attempt log. */
export function createFakeWebhookLog(chaos: Chaos): WebhookLog & { entries: DeliveryLogEntry[] } {
  const claims = new Map<string, Set<string>>();
  const entries: DeliveryLogEntry[] = [];
  return {
    entries,
    async enqueued(job, keys) {
      await gate(chaos, "webhookLog.enqueued");
      const claimed = claims.get(incarnationKey(job));
      return new Set(keys.filter((key) => claimed?.has(key)));
    },
    async markEnqueued(job, keys) {
      await gate(chaos, "webhookLog.markEnqueued");
      if (!claims.has(incarnationKey(job))) claims.set(incarnationKey(job), new Set());
      for (const key of keys) claims.get(incarnationKey(job))!.add(key);
    },
    async record(entry) {
      await gate(chaos, "webhookLog.record");
      entries.push({ ...entry });
    },
    async list(job, limit) {
      await gate(chaos, "webhookLog.list");
      return entries.filter((entry) => entry.tenant === job.tenant && entry.jobId === job.jobId && entry.incarnation === job.incarnation).reverse().slice(0, limit);
    },
  };
}
