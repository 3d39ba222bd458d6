/**
 * The ticker: started every minute by EventBridge Scheduler (CronV2), it ticks about every 2 s
 * for the rest of the minute. Each tick takes the jobs the reducer announced on the change feed
 * (no table scan), reads each at one stored version, renders its snapshot, and hands the rendered
 * jobs to each delivery channel in turn (WebSocket subscribers, webhooks: channels/).
 * A job's announcement is cleared, up to the version rendered, only once every channel served it;
 * a job that could not be read whole (a write in progress), or that some channel must serve again,
 * stays announced for the next tick; clearing runs beside the next tick, which skips the jobs being
 * cleared unless they changed again. So a ticker that dies mid-tick, a failed post or enqueue, or
 * a marker written again by a redelivered batch all end with the latest version delivered, at
 * least once. A lease makes overlapping runs take turns.
 *
 * The parts, each its own module: tick.ts (one tick), lease.ts (taking turns), clearing.ts (the
 * announcements served), schedule.ts (when to tick), channels/ (who gets what).
 */
import type { ChangeFeed, JobStore, Lease } from "../../core/ports.ts";
import type { Log } from "../config.ts";
import { createMemoryMetrics, type Metrics } from "../metrics.ts";
import type { DeliveryChannel } from "./channels/channel.ts";
import { createClearing } from "./clearing.ts";
import { createTickerLease } from "./lease.ts";
import { runSchedule, type RunOptions } from "./schedule.ts";
import { createTick, type TickReport } from "./tick.ts";

export type { RunOptions } from "./schedule.ts";
export type { TickReport } from "./tick.ts";

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
  const lease = createTickerLease(deps.lease);
  const clearing = createClearing(deps.changeFeed);
  const tick = createTick({ ...deps, metrics: deps.metrics ?? createMemoryMetrics() }, lease, clearing);
  return {
    tick,
    settled: () => clearing.settled(),
    async run(options) {
      const reports = await runSchedule({ now: deps.now, log: deps.log, changedJobs: () => clearing.changedJobs(), tick }, options);
      await clearing.settled();
      await lease.release();
      return reports;
    },
    release: () => lease.release(),
  };
}
