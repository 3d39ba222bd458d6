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
import { fitSnapshot, frameFor, isFinished, jobEventFor, type JobEvent } from "../core/realtime.ts";
import type { ConnectionStore, JobStore, Lease, Poster, WebhookLog, WebhookQueue } from "../core/ports.ts";
import { renderSnapshot } from "../core/snapshot.ts";
import type { Snapshot } from "../core/contract.ts";
import type { JobState } from "../core/state.ts";
import { lazyHandler, type Log } from "./config.ts";

export interface TickerDeps {
  store: JobStore;
  connections: ConnectionStore;
  webhooks: { log: WebhookLog; queue: WebhookQueue };
  poster: Poster;
  lease: Lease;
  log: Log;
  now: () => number;
  /** Posts in flight at once. */
  postConcurrency?: number;
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

export interface Ticker {
  /** One tick; skipped (ticked: false) while another ticker holds the lease. */
  tick(): Promise<TickReport>;
  /** Ticks every `intervalMs` until `durationMs` has passed, then lets the lease go. */
  run(options: { intervalMs: number; durationMs: number }): Promise<TickReport[]>;
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
  async function enqueueWebhooks(state: JobState, snapshot: Snapshot, isFinished: boolean): Promise<void> {
    const url = state.notifyUrl?.value;
    if (url === undefined) return;
    const send = async (key: string, type: "job.finished" | "job.progress") => {
      const body = JSON.stringify({ type, timestamp: new Date(deps.now()).toISOString(), data: snapshot });
      try {
        await deps.webhooks.queue.enqueue({ v: 1, webhook_id: `msg_${state.jobId}_${key}`, job_id: state.jobId, url, body, attempt: 1, not_before_ms: 0 }, 0);
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

  async function tick(): Promise<TickReport> {
    const started = deps.now();
    if (!(await deps.lease.acquire(owner, leaseMs))) return { ticked: false, jobs: 0, posts: 0, gone: 0, ms: deps.now() - started };
    tickNumber++;
    const changed = await deps.store.changedJobs();
    const framesByConnection = new Map<string, JobEvent[]>();
    const emitted: { jobId: string; version: number }[] = [];
    await inBatches(changed, deps.jobConcurrency ?? 8, async ({ jobId }) => {
      const job = await deps.store.loadJob(jobId);
      if (job === null) return;
      const snapshot = renderSnapshot(job.state);
      emitted.push({ jobId, version: job.state.version });
      await enqueueWebhooks(job.state, snapshot, isFinished(snapshot));
      const jobEvent = jobEventFor(snapshot, job.state.emitExecutionProgress?.value ?? false);
      if (jobEvent === null) return;
      const fitted: JobEvent = { ...jobEvent, data: fitSnapshot(jobEvent.data, tickNumber) };
      for (const subscriber of await deps.connections.subscribersOf(jobId)) {
        if (subscriber.isFinishedSent) continue;
        if (jobEvent.event === "job_finished" && !(await deps.connections.claimFinished(subscriber.connectionId, jobId))) continue;
        const events = framesByConnection.get(subscriber.connectionId) ?? [];
        events.push(fitted);
        framesByConnection.set(subscriber.connectionId, events);
      }
    });
    let posts = 0;
    let gone = 0;
    await inBatches([...framesByConnection], deps.postConcurrency ?? 256, async ([connectionId, events]) => {
      posts++;
      try {
        if ((await deps.poster.post(connectionId, frameFor(events))) === "gone") {
          gone++;
          await deps.connections.deleteConnection(connectionId);
        }
      } catch (error) {
        deps.log("warn", "post to connection failed", { connection_id: connectionId, error: String(error) });
      }
    });
    await inBatches(emitted, 16, ({ jobId, version }) => deps.store.clearChanged(jobId, version));
    const report = { ticked: true, jobs: changed.length, posts, gone, ms: deps.now() - started };
    if (report.jobs > 0) deps.log("info", "tick", { ...report });
    return report;
  }

  return {
    tick,
    async run({ intervalMs, durationMs }) {
      const reports: TickReport[] = [];
      const end = deps.now() + durationMs;
      while (deps.now() < end) {
        const started = deps.now();
        try {
          reports.push(await tick());
        } catch (error) {
          deps.log("error", "tick failed", { error: String(error) });
        }
        const wait = intervalMs - (deps.now() - started);
        if (wait > 0 && deps.now() + wait < end) await new Promise((resolve) => setTimeout(resolve, wait));
        else if (wait > 0) break;
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
  const { createWsPoster } = await import("./adapters/ws-poster.ts");
  const { createDynamoWebhookLog } = await import("./adapters/dynamo-webhooks.ts");
  const { createSqsWebhookQueue } = await import("./adapters/sqs-publisher.ts");
  const config = environmentConfig();
  const clients = createAwsClients(config);
  const ticker = createTicker({
    webhooks: {
      log: createDynamoWebhookLog({ client: clients.dynamodb, tableName: config.tableName }),
      queue: createSqsWebhookQueue({ client: clients.sqs, queueUrl: config.webhookQueueUrl() }),
    },
    store: createDynamoStore({ client: clients.dynamodb, tableName: config.tableName }),
    connections: createDynamoConnections({ client: clients.dynamodb, tableName: config.tableName }),
    poster: createWsPoster({ endpoint: config.websocketManagementEndpoint(), region: config.region }),
    lease: createDynamoLease({ client: clients.dynamodb, tableName: config.tableName, name: "ticker" }),
    log: jsonLog,
    now: Date.now,
  });
  return async () => {
    const reports = await ticker.run({ intervalMs: Number(process.env.HEADWAY_TICK_MS ?? 2000), durationMs: 55_000 });
    return { ticks: reports.filter((report) => report.ticked).length };
  };
});
