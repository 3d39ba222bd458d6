/**
 * The delivery simulation (DESIGN §5; issue 13, item 5), in the style of FoundationDB's and
 * TigerBeetle's: one seed decides everything — the workload, the order of every step, every
 * fault — and the real services run together over the in-memory fakes of test/support/fakes.ts
 * with a fake clock: the reducer handler, two tickers sharing a lease (each with its WebSocket and
 * webhook channels), the WebSocket routes, and the webhook sender. Nothing waits on real time:
 * every step runs on microtasks, so a seed replays exactly.
 *
 * Per seed: two tenants using the same job ids (each tenant's originals and labels are named after
 * it, so a frame or body that crossed tenants shows), 2–3 jobs each, created through the store (as
 * `POST /v1/jobs` does) or by a `job.declared` on the queue, each ending `job.completed` or
 * `job.failed`; 2–4 clients per tenant connecting with real subscriber tokens and subscribing,
 * unsubscribing, resubscribing and reconnecting. Steps interleave at random (produce, reducer
 * batch, tick A, tick B, a ticker's run ending, webhook sender batch, a client's move, the clock),
 * with faults at every call: throttling (before any effect), torn job writes, lost marker writes,
 * posts answering gone / 429 / 500, receivers answering 429 / 500 / nothing (and one endpoint 410
 * for good), enqueue failures, redelivered and duplicated SQS messages, invocations that die
 * mid-way (a reducer, a sender, a WebSocket route, or a ticker mid-tick: the call never returns).
 * Issue 25 adds, per seed drawn apart from the rest: a key revoked mid-run (its clients' tokens
 * must be refused from then on, and their open connections closed by the connection sweep, a step
 * of its own), the clock jumping 20 days twice (past the 30 days of retention in all: a job active
 * between the jumps keeps every part, a job idle past the retention expires whole), creates of
 * jobs that exist (refused, leaving the job list whole), and the largest reducer batches (every
 * visible message at once). Every job's final state must equal the fault-free fold of its events.
 * Then the faults stop and the system settles (clock past every retry delay, queues drained,
 * ticks until the change feed is empty), and the guarantees are checked.
 *
 * Replay a failing seed: HEADWAY_SEED=<n> npx vitest run test/delivery.simulation.test.ts
 * (it prints the seed's trace); HEADWAY_RUNS=<n> sets how many seeds run (default 1,000).
 */
import { setImmediate as macrotask } from "node:timers/promises";
import type { SQSBatchResponse, SQSRecord } from "aws-lambda";
import { vi } from "vitest";
import type { Event } from "../../core/contract/events.ts";
import { reduce } from "../../core/estimator/reduce.ts";
import { partitioningFor } from "../../core/estimator/partition.ts";
import type { Lease, Poster } from "../../core/ports.ts";
import { seededRandom } from "./seeded-random.ts";
import { createJobState } from "../../core/estimator/state.ts";
import { mintToken, tokenKeysOf } from "../../core/access/token.ts";
import { createWebhookChannel } from "../../functions/ticker/channels/webhooks.ts";
import { createWebSocketChannel } from "../../functions/ticker/channels/websocket.ts";
import { silentLog } from "../../functions/config.ts";
import { createReducerHandler } from "../../functions/reducer/index.ts";
import { createTicker, type Ticker } from "../../functions/ticker/index.ts";
import { createWebhookSender } from "../../functions/webhook-sender.ts";
import { createWsHandler, type WebSocketEvent, type WebSocketResult } from "../../functions/websocket-routes.ts";
import { createConnectionSweep } from "../../functions/connection-sweep.ts";
import {
  createFakeApiKeys,
  createFakeChangeFeed,
  createFakeConnections,
  createFakeGateway,
  createFakeJobStore,
  createFakeLease,
  createFakeReceivers,
  createFakeRejectionLog,
  createFakeSqs,
  createFakeWebhookAccounts,
  createFakeWebhookLog,
  createFakeWebhookQueue,
  InjectedFault,
  type Chaos,
  type FakeSqs,
} from "./fakes.ts";
import { checkGuarantees, clearIgnoringVersion, markerOnlyWhenVersionMoved, newClient, receiveFrame, type Client, type JobEventFrame, type JobPlan, type Life, type Report, type SimOptions, type SimResult } from "./simulation-model.ts";

const START_MS = Date.parse("2026-11-22T10:00:00.000Z");
const DAY_MS = 24 * 3600_000;
const TOKEN_SECRET = "sim-token-secret";
/** Each tenant signs with its own secret. */
const secretOf = (tenant: string) => `whsec_${Buffer.from(`sim-webhook-secret-of-${tenant}`.padEnd(32, "!")).toString("base64")}`;
const TENANTS = ["default", "acme"] as const;
const PLAN = { steps: { encoded: { robot: "/video/encode", use: ":original" } } };
/** A tick that could not take the lease or read the change feed fails whole (the run logs it and ticks again): the only throws a tick may make. */
const WHOLE_TICK_SITES = new Set(["lease.acquire", "feed.changedJobs"]);

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
    return await run(random, options, seed);
  } finally {
    seededMathRandom.mockRestore();
    vi.useRealTimers();
  }
}

async function run(random: () => number, options: SimOptions, seed: number): Promise<SimResult> {
  const draw = (n: number) => Math.floor(random() * n);
  const violations: string[] = [];
  const trace: string[] = [];
  const stats: Record<string, number> = {};
  const count = (what: string, n = 1) => (stats[what] = (stats[what] ?? 0) + n);
  const note = (line: string) => {
    if (options.trace) trace.push(`[${nowMs - START_MS} ms] ${line}`);
  };
  const violation = (line: string) => {
    violations.push(line);
    note(`VIOLATION ${line}`);
  };

  // ---------------------------------------------------------------- chaos and clock
  let nowMs = START_MS;
  const now = () => nowMs;
  let isChaotic = false; // the setup is calm
  /** Some seeds are calm, some stormy: each site's fault rate is drawn per seed around one level. */
  const level = random() * 0.25;
  const rates = new Map<string, number>();
  const rateOf = (site: string) => {
    let rate = rates.get(site);
    if (rate === undefined) rates.set(site, (rate = level * 2 * random()));
    return rate;
  };
  // Receivers and posts always fail now and then; some seeds have a client on a bad line, whose posts mostly fail (never 410).
  rates.set("receiver.send", 0.1 + level * 2 * random());
  rates.set("poster.postAll", 0.05 + level * 2 * random());
  const hangRate = random() < 0.5 ? 0 : random() * 0.01;
  const duplicateRate = random() * 0.2;
  const badLine = random() < 0.3 ? `${TENANTS[draw(2)]}.client0.` : null;
  const chaos: Chaos = {
    fails(site, subject) {
      const rate = badLine !== null && subject?.startsWith(badLine) ? 0.9 : rateOf(site);
      if (!isChaotic || random() >= rate) return false;
      count(`fault ${site}`);
      note(`fault ${site}`);
      return true;
    },
    random,
    async pause() {
      // Mostly a turn or two; now and then a long one, as a slow request is (latency has a heavy tail).
      for (let turns = random() < 0.05 ? draw(60) : draw(3); turns > 0; turns--) await null;
    },
  };
  /** The target's calls hang for good once its invocation dies (a Lambda killed mid-way): nothing after that call happens. */
  function mortal<T extends object>(target: T, life: Life): T {
    return new Proxy(target, {
      get(object, property) {
        const value: unknown = Reflect.get(object, property);
        if (typeof value !== "function") return value;
        return (...args: unknown[]) => {
          if (!life.isDead && isChaotic && random() < hangRate) {
            life.isDead = true;
            count("died");
            note(`an invocation died before ${String(property)}`);
          }
          return life.isDead ? new Promise(() => {}) : (value as (...a: unknown[]) => unknown).apply(object, args);
        };
      },
    });
  }

  // ---------------------------------------------------------------- what this seed tries beyond delivery faults (issue 25)
  const features = seededRandom(seed * 7919 + 25);
  const revokesAKey = features() < 0.4;
  const jumpsTheClock = features() < 0.25;
  const takesLargeBatches = features() < 0.3;

  // ---------------------------------------------------------------- the fakes
  const storePlant = options.plant === "parts-expire-by-own-write" || options.plant === "refused-create-indexed" ? options.plant : undefined;
  const store = createFakeJobStore(chaos, { now, ...(storePlant === undefined ? {} : { plant: storePlant }) });
  const apiKeys = createFakeApiKeys(chaos, options.plant === "revocation-ignored" ? "revocation-ignored" : undefined);
  const feed = createFakeChangeFeed(chaos);
  const rejections = createFakeRejectionLog(chaos);
  const { connections, subscriptions } = createFakeConnections(chaos);
  const lease = createFakeLease(chaos, now);
  const webhookLog = createFakeWebhookLog(chaos);
  const eventsSqs = createFakeSqs({ now, visibilityMs: 30_000, name: "events" });
  const webhookSqs = createFakeSqs({ now, visibilityMs: 30_000, name: "webhooks" });
  const webhookQueue = createFakeWebhookQueue(chaos, webhookSqs);
  const gateway = createFakeGateway(chaos);
  const goneUrls = new Set<string>();
  const receivers = createFakeReceivers(chaos, goneUrls);
  const webhookAccounts = createFakeWebhookAccounts(chaos, secretOf);
  /**
   * The sender batch in which each endpoint was first recorded gone: no later batch may try it
   * (deliveries of the same batch may already be in flight when the 410 comes back).
   */
  const goneMarkedInBatch = new Map<string, number>();
  /** The sender batch of each receiver attempt, by index. */
  const batchOfAttempt: number[] = [];
  let senderBatches = 0;
  const markGone = webhookAccounts.endpoints.markGone;
  webhookAccounts.endpoints.markGone = async (tenant: string, url: string, atMs: number) => {
    await markGone(tenant, url, atMs);
    if (!goneMarkedInBatch.has(url)) goneMarkedInBatch.set(url, senderBatches);
  };

  // ---------------------------------------------------------------- the workload
  const jobs: JobPlan[] = [];
  for (const tenant of TENANTS) {
    const jobCount = 2 + draw(2);
    for (let j = 1; j <= jobCount; j++) {
      const jobId = `job-${j}`;
      let sequence = 0;
      const event = <T extends Event["type"]>(type: T, fields: Record<string, unknown>): Event =>
        ({ v: 1, type, job_id: jobId, event_id: `${tenant}-${jobId}-e${++sequence}`, at: new Date(START_MS + sequence * 1000).toISOString(), ...fields }) as unknown as Event;
      // Now and then a job whose snapshot passes a frame's limit (its file list is paged); its other reports name a few files.
      const isLarge = tenant === "acme" && j === 1 && random() < 0.03;
      const files = isLarge
        ? Array.from({ length: 850 }, (_, i) => `${tenant}-f${String(i + 1).padStart(4, "0")}-${"x".repeat(110)}`)
        : Array.from({ length: 1 + draw(tenant === "acme" ? 3 : 2) }, (_, i) => `${tenant}-f${i + 1}`);
      const notifyUrl = random() < 0.7 ? `https://hooks.example/${tenant}/${jobId}` : null;
      const declared = event("job.declared", {
        plan: PLAN,
        originals: files.map((original_id) => ({ original_id, mime: "video/mp4" })),
        emit_execution_progress: random() < 0.6,
        ...(notifyUrl === null ? {} : { notify_url: notifyUrl }),
        ...(notifyUrl !== null && random() < 0.5 ? { notify_milestones: [25, 50, 75] } : {}),
      });
      const body: Event[] = [];
      for (const file of files.slice(0, 3)) {
        body.push(event("step.progress", { step: "encoded", original_id: file, attempt: 1, progress: [10 + draw(50), 100] }));
        if (random() < 0.5) body.push(event("step.progress", { step: "encoded", original_id: file, attempt: 1, progress: [60 + draw(30), 100] }));
        body.push(event("step.completed", { step: "encoded", original_id: file, attempt: 1, result_count: 1 }));
      }
      if (isLarge) count("large jobs");
      body.push(event("indicator.added", { label: `${tenant}-frames`, amount: files.length * 10, task_id: "t1", attempt: 1 }));
      body.push(event("indicator.done", { label: `${tenant}-frames`, amount: files.length * 10, task_id: "t1", attempt: 1 }));
      body.push(random() < 0.75 ? event("job.completed", {}) : event("job.failed", { error: `${tenant} gave up` }));
      const messages: JobPlan["messages"] = [];
      const omitTenant = () => tenant === "default" && random() < 0.5;
      if (random() < 0.5) {
        // Created as `POST /v1/jobs` creates it: the declaration reduced into a new state, no announcement.
        const declaredEvent = declared as Extract<Event, { type: "job.declared" }>;
        const state = createJobState(jobId, partitioningFor(declaredEvent));
        reduce(state, [declared], nowMs);
        await store.createJob({ tenant, jobId, incarnation: `${tenant}-${jobId}-0`, createdAtMs: nowMs }, state);
      } else messages.push({ body: declared, omitTenant: omitTenant() });
      for (let i = 0; i < body.length; ) {
        const size = 1 + draw(3);
        const events = body.slice(i, i + size);
        i += size;
        messages.push({ body: events.length === 1 ? events[0]! : { v: 1, events }, omitTenant: omitTenant() });
      }
      jobs.push({ tenant, jobId, messages, notifyUrl, events: [declared, ...body] });
    }
  }
  const withHooks = jobs.filter((job) => job.notifyUrl !== null);
  if (withHooks.length > 0) {
    // One endpoint answers 410 Gone for good: it is left out of the final check, and retries to it must stop.
    const gone = withHooks[draw(withHooks.length)]!;
    goneUrls.add(gone.notifyUrl!);
  }

  function produce(all = false): void {
    const waiting = jobs.filter((job) => job.messages.length > 0);
    if (waiting.length === 0) return;
    const job = waiting[draw(waiting.length)]!;
    for (let n = all ? Infinity : 1 + draw(2); n > 0 && job.messages.length > 0; n--) {
      const { body, omitTenant } = job.messages.shift()!;
      eventsSqs.send(JSON.stringify(body), { tenant: omitTenant ? null : job.tenant });
      if (options.trace) note(`produced a message of ${job.tenant}/${job.jobId} as ${eventsSqs.lastId()}: ${("events" in body ? body.events : [body]).map((event) => event.type).join(", ")}`);
    }
  }

  // ---------------------------------------------------------------- clients
  const report: Report & { closeConnection(connectionId: string): void } = { violation, count, note, closeConnection: (connectionId) => gateway.close(connectionId) };
  const clients: Client[] = [];
  const clientsByConnection = new Map<string, Client>();

  for (const tenant of TENANTS) {
    const ids = jobs.filter((job) => job.tenant === tenant).map((job) => job.jobId);
    for (let c = 0, n = 2 + draw(3); c < n; c++) {
      const scope = ids.filter(() => random() < 0.7);
      if (scope.length === 0) scope.push(ids[draw(ids.length)]!);
      // Two keys per tenant: a revocation takes away some of its clients, not all. Tokens outlive every clock jump.
      const keyId = `key_${tenant}_${1 + draw(2)}`;
      const client = newClient(`${tenant}.client${c}`, tenant, scope, mintToken({ tenant, keyId, jobIds: scope, expiresAtMs: START_MS + 365 * DAY_MS }, tokenKeysOf(TOKEN_SECRET)), keyId);
      clients.push(client);
    }
  }

  // ---------------------------------------------------------------- the services
  const log = silentLog;
  const reducerFeed = options.plant === "marker-only-when-version-moved" ? markerOnlyWhenVersionMoved(feed) : feed;

  async function reducerBatch(life: Life): Promise<void> {
    // Now and then the largest batch the event source hands over: every visible message at once.
    const records = take(eventsSqs, takesLargeBatches && random() < 0.3 ? 500 : 6, "reducer");
    if (records.length === 0) return;
    if (records.length > 8) count("large reducer batches");
    const handler = createReducerHandler({
      store: mortal(store, life),
      changeFeed: mortal(reducerFeed, life),
      rejections: mortal(rejections, life),
      delayMessage: mortal(
        {
          async delay(receiptHandle: string, seconds: number) {
            await chaos.pause();
            if (chaos.fails("sqs.changeVisibility")) throw new InjectedFault("sqs.changeVisibility");
            eventsSqs.changeVisibility(receiptHandle, seconds);
          },
        },
        life,
      ).delay,
      log,
      now,
      defaultTenant: "default",
      maxReceiveCount: 1_000_000,
      pendingUnknownJobSeconds: 1e9,
      jobConcurrency: 2,
    });
    const given = options.plant === "large-batch-acks-unapplied" && records.length > 8 ? records.slice(0, 8) : records;
    acknowledge(eventsSqs, records, await handler({ Records: given }), "reducer");
  }

  async function senderBatch(life: Life): Promise<void> {
    const records = take(webhookSqs, 4, "sender");
    if (records.length === 0) return;
    const sender = createWebhookSender({
      transport: mortal(receivers, life),
      queue: mortal(webhookQueue, life),
      deliveries: mortal(webhookLog, life),
      secrets: mortal(webhookAccounts.secrets, life),
      endpoints: mortal(webhookAccounts.endpoints, life),
      now,
      log,
    });
    const batch = ++senderBatches;
    try {
      acknowledge(webhookSqs, records, await sender({ Records: records }), "sender");
    } finally {
      while (batchOfAttempt.length < receivers.attempts.length) batchOfAttempt.push(batch);
    }
  }

  /** A batch of up to `max` messages for `who`, now and then with one of them twice (SQS delivers at least once). */
  function take(queue: FakeSqs, max: number, who: string): SQSRecord[] {
    const records = queue.receive(1 + draw(max), random);
    if (records.length === 0) return records;
    if (isChaotic && random() < duplicateRate) records.push({ ...records[draw(records.length)]! });
    note(`${who} takes ${records.map((record) => record.messageId).join(" ")}`);
    return records;
  }

  /** Deletes what the handler did not report as failed, unless the delete is lost (the message then comes back). */
  function acknowledge(queue: FakeSqs, records: readonly SQSRecord[], response: SQSBatchResponse, who: string): void {
    const failed = new Set(response.batchItemFailures.map((failure) => failure.itemIdentifier));
    if (failed.size > 0) note(`${who} failed ${[...failed].join(" ")}`);
    for (const messageId of new Set(records.map((record) => record.messageId))) {
      if (failed.has(messageId)) continue;
      if (isChaotic && random() < duplicateRate) note(`${who}: the delete of ${messageId} is lost`);
      else queue.delete(messageId);
    }
  }

  interface TickerSlot {
    name: string;
    life: Life;
    ticker: Ticker;
    /** Between taking the lease and the end of its tick. */
    isTicking: boolean;
  }

  function startTicker(name: string): TickerSlot {
    const life: Life = { isDead: false };
    const slot = { name, life, isTicking: false } as TickerSlot;
    /** The shared lease, watched: a ticker that takes it while the other (alive) is mid-tick is two tickers ticking at once. */
    const watchedLease: Lease = {
      async acquire(owner, forMs) {
        const isTaken = await lease.acquire(owner, forMs);
        if (isTaken && tickers.some((other) => other !== slot && other.isTicking && !other.life.isDead)) count("ticks while the other ticker was mid-tick");
        slot.isTicking ||= isTaken;
        return isTaken;
      },
      release: (owner) => lease.release(owner),
    };
    const poster: Poster = options.plant === "finished-claimed-before-post" ? claimingBeforePost(gateway.poster) : gateway.poster;
    const ticker = createTicker({
      store: mortal(store, life),
      changeFeed: mortal(options.plant === "clear-ignores-version" ? clearIgnoringVersion(feed) : feed, life),
      lease: mortal(watchedLease, life),
      channels: [
        createWebSocketChannel({ subscriptions: mortal(subscriptions, life), connections: mortal(connections, life), poster: mortal(poster, life) }),
        createWebhookChannel({ log: mortal(webhookLog, life), queue: mortal(webhookQueue, life), now, statusUrlOf: (jobId) => `https://headway.example/v1/jobs/${jobId}` }),
      ],
      log,
      now,
    });
    note(`ticker ${name} starts`);
    slot.ticker = ticker;
    return slot;
  }

  /** The planted bug of the issue: `job_finished` recorded before it is posted, so a failed post loses it. */
  function claimingBeforePost(poster: Poster): Poster {
    return {
      ...poster,
      async postAll(deliveries) {
        for (const delivery of deliveries) {
          const frame = JSON.parse(delivery.body) as JobEventFrame;
          const tenant = clientsByConnection.get(delivery.connectionId)?.tenant;
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

  const tickers: TickerSlot[] = [];
  tickers.push(startTicker("A"), startTicker("B"));

  async function tick(index: number): Promise<void> {
    let slot = tickers[index]!;
    if (slot.life.isDead) slot = tickers[index] = startTicker(`${slot.name}'`);
    note(`ticker ${slot.name} ticks`);
    try {
      const report = await slot.ticker.tick();
      if (report.ticked) count("ticks");
      note(`ticker ${slot.name}: ${JSON.stringify(report)}`);
    } catch (error) {
      if (error instanceof InjectedFault && WHOLE_TICK_SITES.has(error.site)) note(`ticker ${slot.name}: the tick failed whole (${error.site})`);
      else violation(`ticker ${slot.name}: a tick threw ${String(error)}`);
    } finally {
      slot.isTicking = false;
    }
  }

  async function endRun(index: number): Promise<void> {
    const slot = tickers[index]!;
    if (slot.life.isDead) return; // a run that died lets its lease lapse
    note(`ticker ${slot.name}'s run ends`);
    await slot.ticker.release().catch(() => {});
  }

  // ---------------------------------------------------------------- the clients' moves
  async function route(life: Life, event: WebSocketEvent): Promise<WebSocketResult | null> {
    const handler = createWsHandler({ connections: mortal(connections, life), subscriptions: mortal(subscriptions, life), store: mortal(store, life), poster: mortal(gateway.poster, life), apiKeys: mortal(apiKeys, life), tokenSecret: TOKEN_SECRET, now, log });
    try {
      return await handler(event);
    } catch (error) {
      if (!(error instanceof InjectedFault)) violation(`route ${event.requestContext.routeKey} threw ${String(error)}`);
      return null; // API Gateway answers the client `Internal server error`; the client tries again later
    }
  }

  async function connect(client: Client, life: Life): Promise<void> {
    const connectionId = `${client.name}.${++client.connections}`;
    note(`${client.name} connects as ${connectionId}`);
    const result = await route(life, { requestContext: { connectionId, routeKey: "$connect" }, queryStringParameters: { token: client.token } });
    if (result === null) return;
    if (client.revokedAtMs !== null) {
      if (result.statusCode === 200) violation(`${client.name}: connected with a token of its key, revoked at +${client.revokedAtMs - START_MS} ms`);
      else count("connects refused after revocation");
      if (result.statusCode === 200) gateway.close(connectionId);
      return;
    }
    if (result.statusCode !== 200) return violation(`${client.name}: its token was refused (${result.body})`);
    client.connectionId = connectionId;
    client.confirmed.clear();
    client.acks.clear();
    client.dropped.clear();
    client.best.clear();
    client.finished.clear();
    client.last.clear();
    clientsByConnection.set(connectionId, client);
    gateway.open(connectionId, {
      receive: (body) => receiveFrame(report, client, connectionId, body),
      closed: () => {
        if (client.connectionId !== connectionId) return;
        note(`${connectionId} is closed`);
        client.connectionId = null;
      },
    });
    for (const jobId of [...client.intended]) await subscribe(client, jobId, life);
  }

  async function subscribe(client: Client, jobId: string, life: Life): Promise<void> {
    const connectionId = client.connectionId;
    if (connectionId === null) return;
    client.intended.add(jobId);
    client.dropped.delete(jobId);
    client.acks.delete(`subscribed ${jobId}`);
    note(`${client.name} subscribes to ${jobId}`);
    const revokedBefore = client.revokedAtMs !== null;
    const result = await route(life, { requestContext: { connectionId, routeKey: "$default" }, body: JSON.stringify({ action: "subscribe", job_id: jobId }) });
    if (revokedBefore && client.acks.has(`subscribed ${jobId}`)) violation(`${client.name}: subscribed to ${jobId} after its key was revoked`);
    if (result !== null && client.connectionId === connectionId && client.acks.has(`subscribed ${jobId}`)) client.confirmed.add(jobId);
  }

  async function unsubscribe(client: Client, jobId: string, life: Life): Promise<void> {
    const connectionId = client.connectionId;
    if (connectionId === null) return;
    client.intended.delete(jobId);
    client.confirmed.delete(jobId);
    client.acks.delete(`unsubscribed ${jobId}`);
    note(`${client.name} unsubscribes from ${jobId}`);
    const result = await route(life, { requestContext: { connectionId, routeKey: "$default" }, body: JSON.stringify({ action: "unsubscribe", job_id: jobId }) });
    if (result !== null && client.connectionId === connectionId && client.acks.has(`unsubscribed ${jobId}`)) {
      client.dropped.add(jobId);
      client.best.delete(jobId);
      client.finished.delete(jobId);
      client.last.delete(jobId);
    }
  }

  /**
   * A client's move. Like a real client it waits for one request's answer before sending the
   * next: route invocations run concurrently, so an unsubscribe and a subscribe sent together
   * may be applied in either order whatever order their answers come in. An invocation that died
   * answers nothing; API Gateway's timeout then frees the client.
   */
  async function move(client: Client, life: Life): Promise<void> {
    if (client.inFlight !== null && !client.inFlight.isDead) return;
    client.inFlight = life;
    try {
      await moveNow(client, life);
    } finally {
      client.inFlight = null;
    }
  }

  async function moveNow(client: Client, life: Life): Promise<void> {
    if (client.connectionId === null) return connect(client, life);
    const draw100 = random();
    const jobId = client.scope[draw(client.scope.length)]!;
    if (draw100 < 0.1) {
      const connectionId = client.connectionId;
      note(`${client.name} disconnects ${connectionId}`);
      gateway.close(connectionId);
      await route(life, { requestContext: { connectionId, routeKey: "$disconnect" } });
    } else if (draw100 < 0.4 && client.intended.has(jobId)) await unsubscribe(client, jobId, life);
    else await subscribe(client, jobId, life);
  }

  async function settleClient(client: Client): Promise<void> {
    if (client.revokedAtMs !== null) return;
    const life: Life = { isDead: false };
    if (client.connectionId === null) await connect(client, life);
    for (const jobId of client.intended) if (!client.confirmed.has(jobId) && !isExpired(client.tenant, jobId)) await subscribe(client, jobId, life);
  }

  // A client whose key was revoked is settled once its connection is closed (it keeps trying to get back in: see connect).
  // A job that expired whole after a clock jump cannot be subscribed to: nothing to wait for.
  const isExpired = (tenant: string, jobId: string) => store.raw({ tenant, jobId }) !== undefined && store.peek({ tenant, jobId }) === undefined;
  const isSettled = (client: Client) =>
    client.revokedAtMs !== null
      ? client.connectionId === null
      : client.connectionId !== null && [...client.intended].every((jobId) => client.confirmed.has(jobId) || isExpired(client.tenant, jobId));

  // ---------------------------------------------------------------- revocation, refused creates, clock jumps (issue 25)
  let revocations = 0;
  let jumps = 0;
  let lastJumpAtMs = START_MS;
  let retriedCreates = 0;

  /** Revokes one key of a tenant, once per seed: its clients must be refused from now on, and closed by the next sweep. */
  function revokeKey(): void {
    if (revocations > 0) return;
    revocations++;
    const tenant = TENANTS[draw(TENANTS.length)]!;
    const keyId = `key_${tenant}_${1 + draw(2)}`;
    apiKeys.revoke(tenant, keyId);
    const revoked = clients.filter((client) => client.tenant === tenant && client.keyId === keyId);
    for (const client of revoked) client.revokedAtMs = nowMs;
    count("keys revoked");
    note(`${tenant}'s key ${keyId} is revoked (clients ${revoked.map((client) => client.name).join(" ") || "none"})`);
  }

  /** The sweep the ticker's Lambda runs beside its ticks: connections whose token lapsed are told and closed. */
  async function sweep(life: Life): Promise<void> {
    const connectionSweep = createConnectionSweep({ connections: mortal(connections, life), apiKeys: mortal(apiKeys, life), poster: mortal(gateway.poster, life), now, log });
    try {
      const { closed } = await connectionSweep.sweep();
      count("connections closed by a sweep", closed);
    } catch (error) {
      if (!(error instanceof InjectedFault)) violation(`a sweep threw ${String(error)}`);
    }
  }

  /** A create of a job that exists (an SDK's retry of createJob): refused, and without a trace (the list stays whole). */
  async function createAgain(life: Life): Promise<void> {
    const running = jobs.filter((job) => store.peek(job)?.state.terminal === null);
    if (running.length === 0) return;
    const job = running[draw(running.length)]!;
    const state = createJobState(job.jobId, partitioningFor(job.events[0] as Extract<Event, { type: "job.declared" }>));
    reduce(state, [job.events[0]!], nowMs);
    const meta = { tenant: job.tenant, jobId: job.jobId, incarnation: `${job.tenant}-${job.jobId}-retry${++retriedCreates}`, createdAtMs: nowMs };
    note(`${job.tenant}/${job.jobId} is created again`);
    const isCreated = await mortal(store, life).createJob(meta, state).catch((error: unknown) => {
      if (error instanceof InjectedFault) return null;
      throw error;
    });
    if (isCreated === true) violation(`${job.tenant}/${job.jobId} was created again while it ran`);
    else if (isCreated === false) count("creates refused (the id is taken)");
  }

  /**
   * The clock jumps 20 days, at most twice: past the retention in all (30 days), so that parts
   * last written before the first jump are older than it by the end, while their job, active
   * between the jumps, must keep them. A jump waits until every running job was written since the
   * last one (a job idle past the retention expires whole, as it should, and its late events would
   * wait for it forever); finished jobs (kept 7 days) may expire whole.
   */
  function jumpClock(): void {
    if (jumps >= 2) return;
    const isAtRisk = jobs.some((job) => {
      const stored = store.raw(job);
      if (stored === undefined || !hasEventsToCome(job)) return false;
      // A job ended early (its terminal event overtook others) is kept 7 days: its late events would find it gone.
      return stored.state.terminal !== null || stored.lastSavedAtMs < lastJumpAtMs;
    });
    if (isAtRisk) return;
    nowMs += 20 * DAY_MS;
    lastJumpAtMs = nowMs;
    jumps++;
    count("clock jumps of 20 days");
    note("the clock jumps 20 days");
  }

  /** Whether some of the job's events are still to be produced or in the queue. */
  function hasEventsToCome(job: JobPlan): boolean {
    return job.messages.length > 0 || eventsSqs.messages().some((message) => (message.tenant ?? "default") === job.tenant && message.body.includes(`"job_id":"${job.jobId}"`));
  }

  // ---------------------------------------------------------------- the run
  type Step = { name: string; run: () => Promise<unknown> };
  const steps: [number, () => Step][] = [
    [3, () => ({ name: "produce", run: async () => produce() })],
    [3, () => ({ name: "reducer", run: () => reducerBatch({ isDead: false }) })],
    [2, () => ({ name: "tick A", run: () => tick(0) })],
    [2, () => ({ name: "tick B", run: () => tick(1) })],
    // A slow tick: the lease lapses under it and the other ticker takes over while it still runs.
    [1, () => ({ name: "ticks at once", run: async () => { const first = tick(0); for (let turns = draw(8); turns > 0; turns--) await null; nowMs += 15_001; await Promise.all([first, tick(1)]); } })],
    [0.3, () => ({ name: "run A ends", run: () => endRun(0) })],
    [0.3, () => ({ name: "run B ends", run: () => endRun(1) })],
    [2, () => ({ name: "sender", run: () => senderBatch({ isDead: false }) })],
    [2.5, () => { const client = clients[draw(clients.length)]!; return { name: `move of ${client.name}`, run: () => move(client, { isDead: false }) }; }],
    [2, () => ({ name: "clock", run: async () => { nowMs += random() < 0.1 ? 16_000 + draw(20_000) : draw(3_000); } })],
    [1, () => ({ name: "sweep", run: () => sweep({ isDead: false }) })],
    [0.5, () => ({ name: "create again", run: () => createAgain({ isDead: false }) })],
    [revokesAKey ? 0.3 : 0, () => ({ name: "revoke a key", run: async () => revokeKey() })],
    [jumpsTheClock ? 0.4 : 0, () => ({ name: "clock jump", run: async () => jumpClock() })],
  ];
  const totalWeight = steps.reduce((sum, [weight]) => sum + weight, 0);
  const pick = (): Step => {
    let at = random() * totalWeight;
    for (const [weight, make] of steps) if ((at -= weight) < 0) return make();
    return steps[0]![1]();
  };

  isChaotic = true;
  const rounds = 30 + draw(40);
  for (let round = 0; round < rounds; round++) {
    // One to three steps at once, each starting a few microtasks after the previous.
    const diedBefore = stats.died ?? 0;
    const running = Array.from({ length: 1 + draw(3) }, () => pick()).map((step) => {
      const state = { step, isDone: false };
      const delay = draw(4);
      void (async () => {
        for (let turns = delay; turns > 0; turns--) await null;
        await step.run();
        state.isDone = true;
      })().catch((error: unknown) => {
        state.isDone = true;
        violation(`${step.name} threw ${String(error)}`);
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
      if ((stats.died ?? 0) > diedBefore) note(`${state.step.name} never returns`);
      else violation(`${state.step.name} is stuck, though no invocation died`);
    }
  }

  // ---------------------------------------------------------------- settle, without faults
  isChaotic = false;
  note("faults stop");
  while (jobs.some((job) => job.messages.length > 0)) produce(true);
  let isQuiet = false;
  for (let round = 0; round < 80 && !isQuiet; round++) {
    count("settle rounds");
    for (let n = 0; eventsSqs.visibleCount() > 0 && n < 200; n++) await reducerBatch({ isDead: false });
    for (const client of clients) if (!isSettled(client)) await settleClient(client);
    for (let n = 0; feed.pending().length > 0 && n < 4; n++) {
      await tick(0);
      await tick(1);
    }
    await sweep({ isDead: false });
    for (let n = 0; webhookSqs.visibleCount() > 0 && n < 200; n++) await senderBatch({ isDead: false });
    isQuiet = eventsSqs.size() === 0 && webhookSqs.size() === 0 && feed.pending().length === 0 && clients.every(isSettled);
    // On to the next message that becomes visible (a retry delay, a visibility timeout), or past the lease of a ticker that died.
    if (!isQuiet) nowMs = Math.max(nowMs + 1_000, Math.min(eventsSqs.nextVisibleAtMs(), webhookSqs.nextVisibleAtMs(), nowMs + 16_000));
  }
  if (!isQuiet) violation(`did not settle: ${eventsSqs.size()} events and ${webhookSqs.size()} webhooks queued, ${feed.pending().length} jobs announced, clients ${clients.filter((client) => !isSettled(client)).map((client) => client.name).join(" ")} not settled`);

  // ---------------------------------------------------------------- the guarantees
  checkGuarantees(report, { jobs, clients, store, receivers, webhookQueue, goneUrls, goneMarkedInBatch, batchOfAttempt });
  await checkJobLists();
  count("store conflicts (retried)", store.conflicts);
  count("webhooks delivered", receivers.attempts.filter((attempt) => attempt.status === 200).length);
  count("webhook attempts refused (429, 500, no answer)", receivers.attempts.filter((attempt) => attempt.status !== 200 && attempt.status !== 410).length);
  count("webhook attempts answered 410", receivers.attempts.filter((attempt) => attempt.status === 410).length);
  return { violations, trace, stats };

  /** Each tenant's job list, read page by page as the dashboard does, lists every job it has once (refused creates left nothing). */
  async function checkJobLists(): Promise<void> {
    for (const tenant of TENANTS) {
      const listed: string[] = [];
      try {
        for (let cursor: string | null = null, pages = 0; pages === 0 || cursor !== null; pages++) {
          const page = await store.jobIndex.list(tenant, { limit: 2, cursor });
          listed.push(...page.jobs.map((job) => job.meta.jobId));
          cursor = page.nextCursor;
        }
      } catch (error) {
        violation(`the job list of ${tenant} failed: ${String(error)}`);
        continue;
      }
      const expected = jobs.filter((job) => job.tenant === tenant && store.peek(job) !== undefined).map((job) => job.jobId).sort();
      if (JSON.stringify([...listed].sort()) !== JSON.stringify(expected)) violation(`the job list of ${tenant} is ${listed.join(", ")}, its jobs are ${expected.join(", ")}`);
    }
  }
}
