/**
 * The ticker: started every minute by EventBridge Scheduler (CronV2), it ticks about every 2 s
 * for the rest of the minute. Each tick takes the jobs the reducer announced on the change feed
 * (no table scan), reads each at one stored version, renders its snapshot, and hands the rendered
 * jobs to each delivery channel in turn (WebSocket subscribers, webhooks: functions/channels/).
 * A job's announcement is cleared, up to the version rendered, only once every channel served it;
 * a job that could not be read whole (a write in progress), or that some channel must serve again,
 * stays announced for the next tick; clearing runs beside the next tick, which skips the jobs being
 * cleared unless they changed again. So a ticker that dies mid-tick, a failed post or enqueue, or
 * a marker written again by a redelivered batch all end with the latest version delivered, at
 * least once. A lease makes overlapping runs take turns.
 */
import { randomUUID } from "node:crypto";
import { isFinished } from "../../core/delivery/frames.ts";
import type { ChangedJob, ChangeFeed, JobStore, Lease } from "../../core/ports.ts";
import { renderSnapshot } from "../../core/estimator/index.ts";
import type { DeliveryChannel, RenderedJob } from "./channels/channel.ts";
import { withFields, type Log } from "../config.ts";
import { createMemoryMetrics, type Metrics } from "../metrics.ts";

export interface TickerDeps {
  store: JobStore;
  changeFeed: ChangeFeed;
  channels: readonly DeliveryChannel[];
  lease: Lease;
  log: Log;
  /** Ticks, TickDuration, TickJobs, Posts, GoneConnections, JobsRetried, WebhooksEnqueued; flushed after each tick. */
  metrics?: Metrics;
  now: () => number;
  /** Jobs read at once (100 by default: a tick of 100 changed jobs reads their heads in one request, and their parts side by side). */
  jobConcurrency?: number;
}

export interface TickReport {
  ticked: boolean;
  jobs: number;
  /** Jobs left announced for the next tick (unreadable now, or not served by every channel). */
  retried: number;
  /** WebSocket frames posted, and connections found gone. */
  posts: number;
  gone: number;
  /** Per channel: what it sent and dropped. */
  channels: Record<string, { sent: number; dropped: number }>;
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
  /**
   * One tick; skipped (ticked: false) while another ticker holds the lease. It returns once its
   * frames and webhooks are handed off; clearing the served jobs' markers goes on beside the next
   * tick (which skips those jobs unless they changed again): `settled()` waits for it.
   */
  tick(): Promise<TickReport>;
  /** Resolves when every marker clear begun so far has ended. */
  settled(): Promise<void>;
  /** Ticks as `RunOptions` says until `durationMs` has passed or `signal` aborts, then lets the lease go. */
  run(options: RunOptions): Promise<TickReport[]>;
  release(): Promise<void>;
}

export function createTicker(deps: TickerDeps): Ticker {
  const owner = randomUUID();
  const metrics = deps.metrics ?? createMemoryMetrics();
  let tickNumber = 0;
  const leaseMs = 15_000;
  /**
   * Jobs served, whose markers are being cleared: job → the version cleared up to. A tick that
   * reads a marker meanwhile skips the job unless it announces a later version; a clear that
   * fails forgets its entry, so the marker is served again.
   */
  const clearing = new Map<string, number>();
  const clears = new Set<Promise<void>>();
  const clearingKey = (job: ChangedJob) => `${job.tenant}\n${job.jobId}\n${job.incarnation}`;

  async function changedJobs(): Promise<ChangedJob[]> {
    return (await deps.changeFeed.changedJobs()).filter((job) => (clearing.get(clearingKey(job)) ?? -1) < job.version);
  }

  function clearInBackground(cleared: readonly { job: ChangedJob; version: number }[], log: Log): void {
    for (const { job, version } of cleared) clearing.set(clearingKey(job), Math.max(version, clearing.get(clearingKey(job)) ?? -1));
    const done = inBatches(cleared, 64, async ({ job, version }) => {
      await deps.changeFeed.clearChanged(job, version).catch((error: unknown) => log("warn", "announcement not cleared (the job is sent again)", { tenant: job.tenant, job_id: job.jobId, error: String(error) }));
      if (clearing.get(clearingKey(job)) === version) clearing.delete(clearingKey(job));
    }).finally(() => clears.delete(done));
    clears.add(done);
  }

  async function inBatches<T>(items: readonly T[], concurrency: number, work: (item: T) => Promise<void>): Promise<void> {
    let next = 0;
    await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, async () => {
      while (next < items.length) await work(items[next++]!);
    }));
  }

  /** The job at one stored version, rendered; null when it is gone, "retry" while it cannot be read whole. */
  async function render(job: ChangedJob, log: Log): Promise<RenderedJob | null | "retry"> {
    try {
      const loaded = await deps.store.loadJob(job);
      if (loaded === "busy") return "retry";
      if (loaded === null || loaded.meta.incarnation !== job.incarnation) return null;
      const snapshot = renderSnapshot(loaded.state);
      return { job, state: loaded.state, snapshot, isFinished: isFinished(snapshot) };
    } catch (error) {
      log("warn", "job not read; tried again next tick", { tenant: job.tenant, job_id: job.jobId, error: String(error) });
      return "retry";
    }
  }

  async function tick(): Promise<TickReport> {
    const started = deps.now();
    if (!(await deps.lease.acquire(owner, leaseMs))) return { ticked: false, jobs: 0, retried: 0, posts: 0, gone: 0, channels: {}, ms: deps.now() - started };
    tickNumber++;
    // Every line of a tick carries the ticker's id (one per Lambda container) and the tick's number.
    const log = withFields(deps.log, { ticker_id: owner, tick: tickNumber });
    const changed = await changedJobs();
    const rendered: RenderedJob[] = [];
    const gone: ChangedJob[] = [];
    let retried = 0;
    await inBatches(changed, deps.jobConcurrency ?? 100, async (job) => {
      const result = await render(job, log);
      if (result === "retry") retried++;
      else if (result === null) gone.push(job);
      else rendered.push(result);
    });
    const again = new Set<RenderedJob>();
    const channels: TickReport["channels"] = {};
    for (const channel of deps.channels) {
      try {
        const { retry, sent, dropped } = await channel.deliver(rendered, tickNumber, log);
        for (const job of retry) again.add(job);
        channels[channel.name] = { sent, dropped };
      } catch (error) {
        log("error", "delivery channel failed; its jobs are tried again next tick", { channel: channel.name, error: String(error) });
        for (const job of rendered) again.add(job);
      }
    }
    retried += again.size;
    const cleared = [...rendered.filter((job) => !again.has(job)).map((job) => ({ job: job.job, version: job.state.version })), ...gone.map((job) => ({ job, version: job.version }))];
    clearInBackground(cleared, log);
    const websocket = channels.websocket ?? { sent: 0, dropped: 0 };
    const report: TickReport = { ticked: true, jobs: changed.length, retried, posts: websocket.sent, gone: websocket.dropped, channels, ms: deps.now() - started };
    if (report.jobs > 0) log("info", "tick", { ...report });
    metrics.count("Ticks");
    metrics.timing("TickDuration", report.ms);
    metrics.count("TickJobs", report.jobs);
    metrics.count("Posts", report.posts);
    metrics.count("GoneConnections", report.gone);
    metrics.count("JobsRetried", report.retried);
    metrics.count("WebhooksEnqueued", channels.webhooks?.sent ?? 0);
    metrics.flush();
    return report;
  }

  return {
    tick,
    async settled() {
      while (clears.size > 0) await Promise.all(clears);
    },
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
          pending = await changedJobs();
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
      await this.settled();
      await this.release();
      return reports;
    },
    release: () => deps.lease.release(owner),
  };
}
