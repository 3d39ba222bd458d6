/**
 * The ticker: started every minute by EventBridge Scheduler (CronV2), it ticks about every 2 s
 * for the rest of the minute. Each tick takes the jobs whose state moved (the reducer's change
 * markers: no table scan), renders their snapshots, and sends each subscribed connection at
 * most one frame (a `batch` when several of its jobs changed), because every PostToConnection
 * draws on the account's shared API Gateway budget. `job_finished` goes to each subscriber once;
 * progress events only when the job asked for them and an estimate is available. Connections
 * that are gone (410) are forgotten. A lease makes overlapping runs take turns, and a job's
 * marker is cleared only up to the version emitted, so nothing is sent twice or skipped.
 */
import { randomUUID } from "node:crypto";
import { framesFor, isFinished, jobEventFor, renderEvent, type RenderedEvent } from "../core/realtime.ts";
import type { ChangedJob, ConnectionStore, Delivery, JobStore, Lease, Poster, Subscriber, WebhookLog, WebhookQueue } from "../core/ports.ts";
import { renderSnapshot } from "../core/snapshot.ts";
import type { Snapshot } from "../core/contract.ts";
import type { JobState } from "../core/state.ts";
import { statusUrlOf, webhookBody } from "../core/webhook.ts";
import { lazyHandler, type Log } from "./config.ts";

export interface TickerDeps {
  store: JobStore;
  connections: ConnectionStore;
  /** `publicUrl`: the HTTP API's base, for the `status_url` in webhook bodies. */
  webhooks: { log: WebhookLog; queue: WebhookQueue; publicUrl?: string | undefined };
  poster: Poster;
  lease: Lease;
  log: Log;
  now: () => number;
  /** Jobs rendered at once. */
  jobConcurrency?: number;
}

export interface TickReport {
  ticked: boolean;
  jobs: number;
  posts: number;
  gone: number;
  ms: number;
}

/**
 * When to tick. Ticks are about `intervalMs` apart (DESIGN's ~2 s) and come as soon as something
 * changed: the ticker looks for changes every `pollMs`, and a tick may follow the previous one
 * after `intervalMs - pollMs`, so a job that changes all the time is pushed every 1.75–2 s (for
 * 2 s), and ticks fall into step with changes that arrive in bursts instead of keeping a fixed
 * beat that makes each burst wait. A due tick waits (at most `settleMs`) until no job has changed
 * for `quietMs`, so that a burst landing over several reducer batches goes out in one tick. The
 * defaults scale with the interval: 250, 100 and 300 ms for 2 s.
 */
export interface RunOptions {
  intervalMs: number;
  durationMs: number;
  pollMs?: number;
  quietMs?: number;
  settleMs?: number;
  signal?: AbortSignal;
  onTick?: (report: TickReport) => void;
}

export interface Ticker {
  /** One tick; skipped (ticked: false) while another ticker holds the lease. */
  tick(): Promise<TickReport>;
  /** Ticks as `RunOptions` says until `durationMs` has passed or `signal` aborts, then lets the lease go. */
  run(options: RunOptions): Promise<TickReport[]>;
  release(): Promise<void>;
}

export function createTicker(deps: TickerDeps): Ticker {
  const owner = randomUUID();
  let tickNumber = 0;
  const leaseMs = 15_000;

  async function inBatches<T>(items: T[], concurrency: number, work: (item: T) => Promise<void>): Promise<void> {
    let next = 0;
    await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, async () => {
      while (next < items.length) await work(items[next++]!);
    }));
  }

  /**
   * The job's webhooks, each claimed once: `job.finished` when it ends, and `job.progress` for the
   * highest milestone the displayed figure has newly reached (lower ones it passed are claimed too).
   */
  async function enqueueWebhooks(tenant: string, state: JobState, snapshot: Snapshot, isFinished: boolean): Promise<void> {
    const url = state.notifyUrl?.value;
    if (url === undefined) return;
    const send = async (key: string, type: "job.finished" | "job.progress") => {
      const body = webhookBody(type, snapshot, { statusUrl: statusUrlOf(deps.webhooks.publicUrl ?? "", state.jobId), nowMs: deps.now() });
      try {
        await deps.webhooks.queue.enqueue({ v: 1, webhook_id: `msg_${state.jobId}_${key}`, tenant, job_id: state.jobId, url, body, attempt: 1, not_before_ms: 0 }, 0);
      } catch (error) {
        await deps.webhooks.log.release(state.jobId, key);
        throw error;
      }
    };
    if (isFinished) {
      if (await deps.webhooks.log.claim(state.jobId, "finished")) await send("finished", "job.finished");
      return;
    }
    const shown = snapshot.progress_combined;
    if (shown === null) return;
    const reached = (state.notifyMilestones?.value ?? []).filter((milestone) => milestone <= shown);
    let highestNew: number | null = null;
    for (const milestone of reached) if (await deps.webhooks.log.claim(state.jobId, `milestone-${milestone}`)) highestNew = milestone;
    if (highestNew !== null) await send(`milestone-${highestNew}`, "job.progress");
  }

  /**
   * Subscriber lists by job, kept across ticks and re-read only when the job's subscriber revision
   * moved: a hot job's list is read once, not every 2 s. Bounded; a cached `job_finished` flag may
   * lag another ticker's, which `claimFinished` (conditional) settles.
   */
  const subscriberCache = new Map<string, { revision: number; subscribers: Subscriber[] }>();
  const SUBSCRIBER_CACHE_JOBS = 10_000;

  async function subscribersOf(jobId: string, revision: number): Promise<Subscriber[]> {
    const cached = subscriberCache.get(jobId);
    subscriberCache.delete(jobId);
    const subscribers = cached?.revision === revision ? cached.subscribers : await deps.connections.subscribersOf(jobId);
    subscriberCache.set(jobId, { revision, subscribers });
    if (subscriberCache.size > SUBSCRIBER_CACHE_JOBS) subscriberCache.delete(subscriberCache.keys().next().value!);
    return subscribers;
  }

  async function tick(): Promise<TickReport> {
    const started = deps.now();
    if (!(await deps.lease.acquire(owner, leaseMs))) return { ticked: false, jobs: 0, posts: 0, gone: 0, ms: deps.now() - started };
    tickNumber++;
    const changed = await deps.store.changedJobs();
    const revisions = await deps.connections.subscriberRevisions(changed.map((job) => job.jobId));
    const eventsByConnection = new Map<string, RenderedEvent[]>();
    const emitted: { jobId: string; version: number }[] = [];
    await inBatches(changed, deps.jobConcurrency ?? 8, async ({ jobId }) => {
      const job = await deps.store.loadJob(jobId);
      if (job === null) return;
      const snapshot = renderSnapshot(job.state);
      emitted.push({ jobId, version: job.state.version });
      await enqueueWebhooks(job.meta.tenant, job.state, snapshot, isFinished(snapshot));
      const jobEvent = jobEventFor(snapshot, job.state.emitExecutionProgress?.value ?? false);
      if (jobEvent === null) return;
      const rendered = renderEvent(jobEvent, tickNumber);
      for (const subscriber of await subscribersOf(jobId, revisions.get(jobId) ?? 0)) {
        if (subscriber.isFinishedSent) continue;
        if (jobEvent.event === "job_finished") {
          const isFirst = await deps.connections.claimFinished(subscriber.connectionId, jobId);
          subscriber.isFinishedSent = true;
          if (!isFirst) continue;
        }
        const events = eventsByConnection.get(subscriber.connectionId) ?? [];
        events.push(rendered);
        eventsByConnection.set(subscriber.connectionId, events);
      }
    });
    // Jobs append to their subscribers' lists in one order, so connections watching the same
    // changed jobs have equal lists: their frames are built once.
    const framesByJobs = new Map<string, string[]>();
    const deliveries: Delivery[] = [];
    for (const [connectionId, events] of eventsByConnection) {
      const jobs = events.map((event) => event.event.job_id).join("\n");
      let frames = framesByJobs.get(jobs);
      if (frames === undefined) framesByJobs.set(jobs, (frames = framesFor(events, tickNumber)));
      for (const body of frames) deliveries.push({ connectionId, body });
    }
    const outcomes = await deps.poster.postAll(deliveries);
    const gone = new Set<string>();
    outcomes.forEach((outcome, index) => {
      const { connectionId } = deliveries[index]!;
      if (outcome === "gone") gone.add(connectionId);
      else if (typeof outcome === "object") deps.log("warn", "post to connection failed", { connection_id: connectionId, error: outcome.error });
    });
    await inBatches([...gone], 16, (connectionId) => deps.connections.deleteConnection(connectionId));
    const posts = deliveries.length;
    await inBatches(emitted, 16, ({ jobId, version }) => deps.store.clearChanged(jobId, version));
    const report = { ticked: true, jobs: changed.length, posts, gone: gone.size, ms: deps.now() - started };
    if (report.jobs > 0) deps.log("info", "tick", { ...report });
    return report;
  }

  return {
    tick,
    async run(options) {
      const { intervalMs, durationMs, signal, onTick } = options;
      const pollMs = options.pollMs ?? intervalMs / 8;
      const quietMs = options.quietMs ?? intervalMs / 20;
      const settleMs = options.settleMs ?? (intervalMs * 3) / 20;
      const end = deps.now() + durationMs;
      const reports: TickReport[] = [];
      let lastTickAt = -Infinity;
      let dueSince: number | null = null;
      const isStopped = () => signal?.aborted === true;
      /** Sleeps `ms`; false (without sleeping) when that would pass the end, or once stopped. */
      const sleep = async (ms: number): Promise<boolean> => {
        if (isStopped() || deps.now() + ms >= end) return false;
        await new Promise<void>((resolve) => {
          const done = () => {
            clearTimeout(timer);
            signal?.removeEventListener("abort", done);
            resolve();
          };
          const timer = setTimeout(done, ms);
          signal?.addEventListener("abort", done, { once: true });
        });
        return !isStopped();
      };
      while (!isStopped()) {
        const untilInterval = lastTickAt + intervalMs - pollMs - deps.now();
        if (untilInterval > 0) {
          if (!(await sleep(untilInterval))) break;
          continue;
        }
        let pending: ChangedJob[] = [];
        try {
          pending = await deps.store.changedJobs();
        } catch (error) {
          deps.log("error", "looking for changed jobs failed", { error: String(error) });
        }
        const at = deps.now();
        if (pending.length === 0) {
          dueSince = null;
          if (!(await sleep(pollMs))) break;
          continue;
        }
        dueSince ??= at;
        const newest = pending.reduce((latest, job) => Math.max(latest, job.changedAtMs), 0);
        if (at - newest < quietMs && at - dueSince < settleMs) {
          if (!(await sleep(Math.min(pollMs, quietMs)))) break;
          continue;
        }
        dueSince = null;
        lastTickAt = at;
        try {
          const report = await tick();
          reports.push(report);
          onTick?.(report);
        } catch (error) {
          deps.log("error", "tick failed", { error: String(error) });
        }
      }
      await this.release();
      return reports;
    },
    release: () => deps.lease.release(owner),
  };
}

/** The Lambda entry point: ticks every ~2 s for 55 s of the minute the schedule started it in. */
export const handler = lazyHandler<unknown, { ticks: number }>(async () => {
  const { environmentConfig, jsonLog } = await import("./config.ts");
  const { createAwsClients } = await import("./adapters/aws-clients.ts");
  const { createDynamoStore } = await import("./adapters/dynamo-store.ts");
  const { createDynamoConnections } = await import("./adapters/dynamo-connections.ts");
  const { createDynamoLease } = await import("./adapters/dynamo-lease.ts");
  const { createWsPosterPool } = await import("./adapters/ws-poster-pool.ts");
  const { createDynamoWebhookLog } = await import("./adapters/dynamo-webhooks.ts");
  const { createSqsWebhookQueue } = await import("./adapters/sqs-publisher.ts");
  const config = environmentConfig();
  const clients = createAwsClients(config);
  const ticker = createTicker({
    webhooks: {
      log: createDynamoWebhookLog({ client: clients.dynamodb, tableName: config.tableName }),
      queue: createSqsWebhookQueue({ client: clients.sqs, queueUrl: config.webhookQueueUrl() }),
      publicUrl: config.publicUrl,
    },
    store: createDynamoStore({ client: clients.dynamodb, tableName: config.tableName }),
    connections: createDynamoConnections({ client: clients.dynamodb, tableName: config.tableName }),
    // Worker threads pay off only where the function has more than one vCPU (3,008 MB and up).
    poster: createWsPosterPool({ endpoint: config.websocketManagementEndpoint(), region: config.region, threads: Number(process.env.HEADWAY_POST_THREADS ?? 0) }),
    lease: createDynamoLease({ client: clients.dynamodb, tableName: config.tableName, name: "ticker" }),
    log: jsonLog,
    now: Date.now,
  });
  return async () => {
    const intervalMs = Number(process.env.HEADWAY_TICK_MS ?? 2000);
    const reports = await ticker.run({ intervalMs, durationMs: 55_000, pollMs: Number(process.env.HEADWAY_TICK_POLL_MS ?? intervalMs / 8) });
    return { ticks: reports.filter((report) => report.ticked).length };
  };
});
