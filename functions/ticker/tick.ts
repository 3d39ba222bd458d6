/**
 * One tick: take the lease, take the jobs announced on the change feed (no table scan), read each
 * at one stored version, render its snapshot, and hand the rendered jobs to each delivery channel
 * in turn (channels/: WebSocket subscribers, webhooks). A job every channel served is cleared up
 * to the version rendered (clearing.ts); a job that could not be read whole (a write in progress)
 * or that some channel must serve again stays announced for the next tick.
 */
import { isFinished } from "../../core/delivery/frames.ts";
import { renderSnapshot } from "../../core/estimator/index.ts";
import type { ChangedJob, JobStore } from "../../core/ports.ts";
import { withFields, type Log } from "../config.ts";
import type { Metrics } from "../metrics.ts";
import type { DeliveryChannel, RenderedJob } from "./channels/channel.ts";
import { inBatches, type Clearing } from "./clearing.ts";
import type { TickerLease } from "./lease.ts";

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

export interface TickDeps {
  store: JobStore;
  channels: readonly DeliveryChannel[];
  log: Log;
  metrics: Metrics;
  now: () => number;
  /** Jobs read at once (100 by default: a tick of 100 changed jobs reads their heads in one request, and their parts side by side). */
  jobConcurrency?: number;
}

/** The job at one stored version, rendered; null when it is gone, "retry" while it cannot be read whole. */
async function render(store: JobStore, job: ChangedJob, log: Log): Promise<RenderedJob | null | "retry"> {
  try {
    const loaded = await store.loadJob(job);
    if (loaded === "busy") return "retry";
    if (loaded === null || loaded.meta.incarnation !== job.incarnation) return null;
    const snapshot = renderSnapshot(loaded.state);
    return { job, state: loaded.state, snapshot, isFinished: isFinished(snapshot) };
  } catch (error) {
    log("warn", "job not read; tried again next tick", { tenant: job.tenant, job_id: job.jobId, error: String(error) });
    return "retry";
  }
}

function recordMetrics(metrics: Metrics, report: TickReport): void {
  metrics.count("Ticks");
  metrics.timing("TickDuration", report.ms);
  metrics.count("TickJobs", report.jobs);
  metrics.count("Posts", report.posts);
  metrics.count("GoneConnections", report.gone);
  metrics.count("JobsRetried", report.retried);
  metrics.count("WebhooksEnqueued", report.channels.webhooks?.sent ?? 0);
  metrics.flush();
}

/** A ticker's ticks: skipped (ticked: false) while another ticker holds the lease. */
export function createTick(deps: TickDeps, lease: TickerLease, clearing: Clearing): () => Promise<TickReport> {
  let tickNumber = 0;
  return async () => {
    const started = deps.now();
    if (!(await lease.take())) return { ticked: false, jobs: 0, retried: 0, posts: 0, gone: 0, channels: {}, ms: deps.now() - started };
    tickNumber++;
    // Every line of a tick carries the ticker's id (one per Lambda container) and the tick's number.
    const log = withFields(deps.log, { ticker_id: lease.owner, tick: tickNumber });
    const changed = await clearing.changedJobs();
    const rendered: RenderedJob[] = [];
    const gone: ChangedJob[] = [];
    let retried = 0;
    await inBatches(changed, deps.jobConcurrency ?? 100, async (job) => {
      const result = await render(deps.store, job, log);
      if (result === "retry") retried++;
      else if (result === null) gone.push(job);
      else rendered.push(result);
    });
    // Each channel in turn: a channel that fails leaves all the jobs to the next tick.
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
    clearing.clear([...rendered.filter((job) => !again.has(job)).map((job) => ({ job: job.job, version: job.state.version })), ...gone.map((job) => ({ job, version: job.version }))], log);
    const websocket = channels.websocket ?? { sent: 0, dropped: 0 };
    const report: TickReport = { ticked: true, jobs: changed.length, retried, posts: websocket.sent, gone: websocket.dropped, channels, ms: deps.now() - started };
    if (report.jobs > 0) log("info", "tick", { ...report });
    recordMetrics(deps.metrics, report);
    return report;
  };
}
