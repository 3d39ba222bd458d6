/**
 * In-memory fakes of the ports of core/ports.ts, for the delivery simulation
 * (test/delivery.simulation.test.ts). Each keeps what its port documents, keyed as the port
 * keys it (a job by tenant and id, its subscribers and webhook claims by incarnation), and asks
 * a `Chaos` before every call whether to fail: a failure is thrown before any effect, except
 * where a fake models a failure after one (a torn job write, a lost post). No fake ever reads
 * the clock or a random source of its own: both come in, so a seed replays exactly.
 */
import type { SQSRecord } from "aws-lambda";
import { StoreConflict } from "../../core/errors.ts";
import type { ApiKeyStore, ChangeFeed, ChangedJob, Connection, Connections, DeliveryLogEntry, JobIndex, JobListEntry, JobMeta, JobRead, JobRef, JobStore, Lease, LoadedJob, PostOutcome, Poster, RejectionLog, RejectionRecord, Subscriber, Subscriptions, WebhookEndpoints, WebhookLog, WebhookQueue, WebhookSecrets } from "../../core/ports.ts";
import type { JobState, OriginalState } from "../../core/estimator/state.ts";
import { encodeParts } from "../../core/storage/codec.ts";
import { partOf } from "../../core/estimator/partition.ts";
import type { WebhookDelivery } from "../../core/contract/webhooks.ts";
import type { DeliveryResult, WebhookTransport } from "../../functions/adapters/webhook-http.ts";

/** Decides, call by call, what goes wrong. */
export interface Chaos {
  /** Whether this call (named `port.method`, about `subject` when it names one: a connection, a URL) fails. */
  fails(site: string, subject?: string): boolean;
  /** A draw in [0, 1) from the run's one random sequence. */
  random(): number;
  /** Lets other work run first (a few microtasks), so that concurrent calls interleave by the seed. */
  pause(): Promise<void>;
}

export const calm: Chaos = { fails: () => false, random: () => 0.5, pause: async () => {} };

/** A failure the chaos asked for (throttled, timed out, crashed): expected, never a bug. */
export class InjectedFault extends Error {
  site: string;
  constructor(site: string, what = "throttled") {
    super(`injected at ${site}: ${what}`);
    this.name = "InjectedFault";
    this.site = site;
  }
}

async function gate(chaos: Chaos, site: string): Promise<void> {
  await chaos.pause();
  if (chaos.fails(site)) throw new InjectedFault(site);
}

const jobKey = (job: JobRef) => `${job.tenant}#${job.jobId}`;
const incarnationKey = (job: JobMeta) => `${job.tenant}#${job.jobId}#${job.incarnation}`;
const metaOf = (job: JobMeta): JobMeta => ({ tenant: job.tenant, jobId: job.jobId, incarnation: job.incarnation, createdAtMs: job.createdAtMs });

/**
 * A deep copy of plain data (objects, arrays, Maps, Sets), keeping shared references shared (a
 * state's dirty set holds its originals); a few times faster than structuredClone on a job's
 * state, which is most of the simulation's time. Anything else is refused rather than copied wrong.
 */
function copyOf<T>(value: T, copies = new Map<unknown, unknown>()): T {
  if (typeof value !== "object" || value === null) return value;
  const known = copies.get(value);
  if (known !== undefined) return known as T;
  if (value instanceof Map) {
    const map = new Map();
    copies.set(value, map);
    for (const [key, item] of value) map.set(copyOf(key, copies), copyOf(item, copies));
    return map as T;
  }
  if (value instanceof Set) {
    const set = new Set();
    copies.set(value, set);
    for (const item of value) set.add(copyOf(item, copies));
    return set as T;
  }
  if (Array.isArray(value)) {
    const array: unknown[] = [];
    copies.set(value, array);
    for (const item of value) array.push(copyOf(item, copies));
    return array as T;
  }
  const prototype = Object.getPrototypeOf(value) as object | null;
  if (prototype !== Object.prototype && prototype !== null) throw new Error(`copyOf: cannot copy a ${value.constructor.name}`);
  const object = Object.create(prototype) as Record<string, unknown>;
  copies.set(value, object);
  for (const key of Object.keys(value)) object[key] = copyOf((value as Record<string, unknown>)[key], copies);
  return object as T;
}

/** A stored state as a fresh load sees it: nothing dirty, every estimate recomputed at the next commit (as after a real load). */
function loaded(state: JobState): JobState {
  const copy = copyOf(state);
  copy.dirtyOriginals = new Set(copy.originals.values());
  copy.isJobBucketDirty = true;
  copy.isChanged = false;
  return copy;
}

/** Adds `state`, copied on first read: most reads of a head only want its meta, and copying is the fake's largest cost. */
function lazily<T extends object>(read: T, stored: JobState): T & { state: JobState } {
  let state: JobState | undefined;
  return Object.defineProperty(read, "state", { enumerable: true, get: () => (state ??= loaded(stored)), set: (value: JobState) => void (state = value) }) as T & { state: JobState };
}

interface StoredJob {
  meta: JobMeta;
  state: JobState;
  revision: number;
  /** A write stopped between its items and its head: whole-job reads answer "busy" until the next save. */
  isTorn: boolean;
  /** The head's expiry: the last write plus the retention (30 days, 7 once the job ended). */
  activeUntilMs: number;
  /** When each file's part was last written (what a part's own expiry would follow). */
  writtenAtMs: Map<string, number>;
  lastSavedAtMs: number;
}

const DAY_MS = 24 * 3600_000;
/** The store's retention (functions/adapters/dynamo/store.ts): a head expires this long after the job's last write. */
export const ACTIVE_RETENTION_MS = 30 * DAY_MS;
export const FINISHED_RETENTION_MS = 7 * DAY_MS;

/** Bugs the store can be built with, to show the simulation catches them. */
export type StorePlant = "parts-expire-by-own-write" | "refused-create-indexed";

/** A file's stored form, to tell which parts a save rewrote. */
function fingerprintOf(state: JobState, original: OriginalState): string {
  return JSON.stringify([...encodeParts(state, [partOf(original.id, state.partCount)], [original]).values()]);
}

/**
 * The job store, one entry per (tenant, job id). `save` is conditional on the revision loaded.
 * Its `store.save:crash` fault is a torn write: the new state is stored, whole-job reads see the
 * job busy until the next successful save, and the call throws. Jobs expire as the real store's
 * do: a job whose head was not written for the retention reads as absent (and its id is free).
 * Its job index lists a tenant's jobs as the real one does: an entry per create, listed when the
 * live job carries its incarnation, each job's head asked for once.
 */
export function createFakeJobStore(chaos: Chaos, options: { now: () => number; plant?: StorePlant } = { now: () => 0 }) {
  const jobs = new Map<string, StoredJob>();
  const index: (JobMeta & { seq: number })[] = [];
  const { now, plant } = options;
  const live = (ref: JobRef): StoredJob | undefined => {
    const job = jobs.get(jobKey(ref));
    return job === undefined || job.activeUntilMs < now() ? undefined : job;
  };
  /** The stored state as a reader gets it; with the planted bug, without the files whose own "parts" expired. */
  const readable = (job: StoredJob): JobState => {
    if (plant !== "parts-expire-by-own-write") return job.state;
    const state = loaded(job.state);
    for (const [id, writtenAtMs] of job.writtenAtMs) if (writtenAtMs + ACTIVE_RETENTION_MS < now()) state.originals.delete(id);
    return state;
  };
  const retentionOf = (state: JobState) => (state.terminal === null ? ACTIVE_RETENTION_MS : FINISHED_RETENTION_MS);
  const store: JobStore & {
    peek(ref: JobRef): StoredJob | undefined;
    /** The entry whether or not it expired (undefined: never created). */
    raw(ref: JobRef): StoredJob | undefined;
    read(ref: JobRef): { meta: JobMeta; state: JobState; isTorn: boolean } | undefined;
    conflicts: number;
    jobIndex: JobIndex;
  } = {
    peek: (ref) => live(ref),
    raw: (ref) => jobs.get(jobKey(ref)),
    read(ref) {
      const job = live(ref);
      return job === undefined ? undefined : { meta: job.meta, state: readable(job), isTorn: job.isTorn };
    },
    conflicts: 0,
    async createJob(meta, state) {
      await gate(chaos, "store.createJob");
      if (live(meta) !== undefined) {
        // The bug of old: the index entry written before the head, and left behind by a refusal.
        if (plant === "refused-create-indexed") index.push({ ...metaOf(meta), seq: index.length });
        return false;
      }
      index.push({ ...metaOf(meta), seq: index.length });
      const stored = loaded(state);
      jobs.set(jobKey(meta), { meta: metaOf(meta), state: stored, revision: 1, isTorn: false, activeUntilMs: now() + retentionOf(stored), writtenAtMs: new Map([...stored.originals.keys()].map((id) => [id, now()])), lastSavedAtMs: now() });
      return true;
    },
    async loadForBatch(ref) {
      await gate(chaos, "store.loadForBatch");
      const job = live(ref);
      return job === undefined ? null : lazily({ meta: metaOf(job.meta), handle: job.revision }, readable(job));
    },
    async save(job: LoadedJob) {
      await gate(chaos, "store.save");
      const stored = live(job.meta);
      if (stored === undefined || stored.meta.incarnation !== job.meta.incarnation || stored.revision !== job.handle) {
        this.conflicts++;
        throw new StoreConflict(jobKey(job.meta));
      }
      const isTorn = chaos.fails("store.save:crash");
      const state = loaded(job.state);
      // A part is written when its bytes changed: those files' "own" expiry moves.
      const writtenAtMs = new Map(stored.writtenAtMs);
      for (const original of state.originals.values()) {
        const before = stored.state.originals.get(original.id);
        if (before === undefined || fingerprintOf(stored.state, before) !== fingerprintOf(state, original)) writtenAtMs.set(original.id, now());
      }
      jobs.set(jobKey(job.meta), { meta: stored.meta, state, revision: stored.revision + 1, isTorn, activeUntilMs: now() + retentionOf(state), writtenAtMs, lastSavedAtMs: now() });
      if (isTorn) throw new InjectedFault("store.save:crash", "crashed between the parts and the head");
    },
    async loadJob(ref): Promise<JobRead> {
      await gate(chaos, "store.loadJob");
      const job = live(ref);
      if (job === undefined) return null;
      return job.isTorn ? "busy" : lazily({ meta: metaOf(job.meta) }, readable(job));
    },
    jobIndex: {
      async list(tenant, page) {
        await gate(chaos, "jobIndex.list");
        const entries = index.filter((entry) => entry.tenant === tenant).sort((a, b) => b.createdAtMs - a.createdAtMs || b.seq - a.seq);
        const start = page.cursor === null ? 0 : Number(page.cursor);
        const slice = entries.slice(start, start + page.limit);
        // BatchGetItem refuses a request naming one key twice: the fixed index asks for each head once.
        if (plant === "refused-create-indexed" && new Set(slice.map((entry) => entry.jobId)).size < slice.length) throw new Error("ValidationException: Provided list of item keys contains duplicates");
        const jobsListed: JobListEntry[] = [];
        for (const entry of slice) {
          const job = live(entry);
          if (job === undefined || job.meta.incarnation !== entry.incarnation) continue;
          jobsListed.push({ meta: metaOf(job.meta), head: readable(job) });
        }
        return { jobs: jobsListed, nextCursor: start + page.limit < entries.length ? String(start + page.limit) : null };
      },
    },
  };
  return store;
}

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

interface QueuedMessage {
  messageId: string;
  body: string;
  tenant: string | null;
  receives: number;
  sentMs: number;
  visibleAtMs: number;
}

/**
 * A standard SQS queue: messages come back in any order, a received one is hidden for the
 * visibility timeout and comes back unless deleted, a delete can be lost (the message is then
 * delivered again), and `DelaySeconds` / ChangeMessageVisibility move when it is seen next.
 */
export function createFakeSqs(options: { now: () => number; visibilityMs: number; name: string }) {
  const messages = new Map<string, QueuedMessage>();
  let sequence = 0;
  const recordOf = (message: QueuedMessage): SQSRecord => ({
    messageId: message.messageId,
    receiptHandle: `${message.messageId}#${message.receives}`,
    body: message.body,
    attributes: { ApproximateReceiveCount: String(message.receives), SentTimestamp: String(message.sentMs), SenderId: "sim", ApproximateFirstReceiveTimestamp: String(message.sentMs) },
    messageAttributes: message.tenant === null ? {} : { tenant: { dataType: "String", stringValue: message.tenant, stringListValues: [], binaryListValues: [] } },
    md5OfBody: "",
    eventSource: "aws:sqs",
    eventSourceARN: `arn:aws:sqs:us-east-1:000000000000:${options.name}`,
    awsRegion: "us-east-1",
  });
  const visible = () => [...messages.values()].filter((message) => message.visibleAtMs <= options.now());
  return {
    send(body: string, attributes: { tenant?: string | null; delaySeconds?: number } = {}): void {
      const messageId = `${options.name}-${++sequence}`;
      messages.set(messageId, { messageId, body, tenant: attributes.tenant ?? null, receives: 0, sentMs: options.now(), visibleAtMs: options.now() + (attributes.delaySeconds ?? 0) * 1000 });
    },
    /** Up to `max` visible messages in an order drawn from `random`, hidden for the visibility timeout. */
    receive(max: number, random: () => number): SQSRecord[] {
      const batch = visible()
        .map((message) => ({ message, order: random() }))
        .sort((a, b) => a.order - b.order)
        .slice(0, max)
        .map(({ message }) => message);
      for (const message of batch) {
        message.receives++;
        message.visibleAtMs = options.now() + options.visibilityMs;
      }
      return batch.map(recordOf);
    },
    /** Deletes a message that was handled; a lost delete leaves it to come back after its timeout. */
    delete(messageId: string): void {
      messages.delete(messageId);
    },
    changeVisibility(receiptHandle: string, seconds: number): void {
      const [messageId, receives] = receiptHandle.split("#");
      const message = messages.get(messageId!);
      if (message !== undefined && String(message.receives) === receives) message.visibleAtMs = options.now() + seconds * 1000;
    },
    lastId: () => `${options.name}-${sequence}`,
    /** Every message in the queue, visible or not. */
    messages: () => [...messages.values()].map(({ body, tenant }) => ({ body, tenant })),
    visibleCount: () => visible().length,
    size: () => messages.size,
    nextVisibleAtMs: () => Math.min(...[...messages.values()].map((message) => message.visibleAtMs)),
  };
}

export type FakeSqs = ReturnType<typeof createFakeSqs>;

/** The webhook queue port over a fake SQS queue (SQS delays at most 15 minutes); every delivery enqueued is kept for inspection. */
export function createFakeWebhookQueue(chaos: Chaos, sqs: FakeSqs): WebhookQueue & { enqueuedDeliveries: WebhookDelivery[] } {
  const enqueuedDeliveries: WebhookDelivery[] = [];
  return {
    enqueuedDeliveries,
    async enqueue(delivery, delaySeconds) {
      await gate(chaos, "webhookQueue.enqueue");
      enqueuedDeliveries.push(delivery);
      sqs.send(JSON.stringify(delivery), { delaySeconds: Math.max(0, Math.min(900, Math.round(delaySeconds))) });
    },
  };
}

/**
 * API Gateway's side of WebSocket connections: which are open, and where their frames go. A post
 * may be throttled or fail (an error, or a throw from `post`), or find the connection dropped for
 * good ("gone", API Gateway's 410).
 */
export function createFakeGateway(chaos: Chaos) {
  const open = new Map<string, { receive(body: string): void; closed(): void }>();
  const close = (connectionId: string) => {
    const peer = open.get(connectionId);
    open.delete(connectionId);
    peer?.closed();
  };
  /** One post: what it came to, after any fault the chaos injects. */
  async function deliver(site: string, connectionId: string, body: string): Promise<PostOutcome> {
    await chaos.pause();
    if (chaos.fails(site, connectionId)) {
      if (chaos.random() < 0.25) {
        close(connectionId);
        return "gone";
      }
      return { error: chaos.random() < 0.5 ? "throttled (429)" : "internal error (500)" };
    }
    const peer = open.get(connectionId);
    if (peer === undefined) return "gone";
    peer.receive(body);
    return "sent";
  }
  const poster: Poster = {
    async post(connectionId, frame) {
      const outcome = await deliver("poster.post", connectionId, JSON.stringify(frame));
      if (typeof outcome === "object") throw new InjectedFault("poster.post", outcome.error);
      return outcome;
    },
    postAll: (deliveries) => Promise.all(deliveries.map((delivery) => deliver("poster.postAll", delivery.connectionId, delivery.body))),
    async disconnect(connectionId) {
      await gate(chaos, "poster.disconnect");
      close(connectionId);
    },
  };
  return {
    poster,
    open(connectionId: string, peer: { receive(body: string): void; closed(): void }) {
      open.set(connectionId, peer);
    },
    close,
    isOpen: (connectionId: string) => open.has(connectionId),
  };
}

/** Webhook receivers: each answers 2xx, or (by the chaos) 429, 500 or no answer; the endpoints in `goneUrls` always answer 410. */
export function createFakeReceivers(chaos: Chaos, goneUrls: ReadonlySet<string>): WebhookTransport & { attempts: { url: string; webhookId: string; body: string; status: number | null }[] } {
  const attempts: { url: string; webhookId: string; body: string; status: number | null }[] = [];
  return {
    attempts,
    async send(url, headers, body): Promise<DeliveryResult> {
      await chaos.pause();
      let result: DeliveryResult = { kind: "response", status: 200, ms: 1 };
      if (goneUrls.has(url)) result = { kind: "response", status: 410, ms: 1 };
      else if (chaos.fails("receiver.send", url)) {
        const draw = chaos.random();
        result = draw < 0.4 ? { kind: "response", status: 429, ms: 1 } : draw < 0.8 ? { kind: "response", status: 500, ms: 1 } : { kind: "error", error: "no answer within 15000 ms", ms: 15_000 };
      }
      attempts.push({ url, webhookId: headers["webhook-id"] ?? "", body, status: result.kind === "response" ? result.status : null });
      return result;
    },
  };
}

/** Each tenant's webhook secret (one, never rotated here), and the endpoints that answered 410 Gone, with faults. */
export function createFakeWebhookAccounts(chaos: Chaos, secretOf: (tenant: string) => string): { secrets: WebhookSecrets; endpoints: WebhookEndpoints; goneMarks: number } {
  const gone = new Map<string, number>();
  const accounts = {
    goneMarks: 0,
    secrets: {
      async secretsOf(tenant: string) {
        await chaos.pause();
        if (chaos.fails("webhookSecrets.secretsOf")) throw new InjectedFault("webhookSecrets.secretsOf");
        return [{ secret: secretOf(tenant), createdAtMs: 0, expiresAtMs: null }];
      },
      async rotate(): Promise<never> {
        throw new Error("not rotated in the simulation");
      },
    } satisfies WebhookSecrets,
    endpoints: {
      async goneSince(tenant: string, url: string) {
        await chaos.pause();
        if (chaos.fails("webhookEndpoints.goneSince")) throw new InjectedFault("webhookEndpoints.goneSince");
        return gone.get(`${tenant} ${url}`) ?? null;
      },
      async markGone(tenant: string, url: string, atMs: number) {
        await chaos.pause();
        if (chaos.fails("webhookEndpoints.markGone")) throw new InjectedFault("webhookEndpoints.markGone");
        gone.set(`${tenant} ${url}`, atMs);
        accounts.goneMarks++;
      },
      async revive(tenant: string, url: string) {
        gone.delete(`${tenant} ${url}`);
      },
    } satisfies WebhookEndpoints,
  };
  return accounts;
}
