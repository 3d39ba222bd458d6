/**
 * When to tick. Ticks are about `intervalMs` apart (~2 s) and come as soon as something
 * changed: the ticker looks for changes every `pollMs`, and a tick may follow the previous one
 * after `intervalMs - pollMs`, so a job that changes all the time is pushed every 1.75–2 s (for
 * 2 s), and ticks fall into step with changes that arrive in bursts instead of keeping a fixed
 * beat that makes each burst wait. A due tick waits (at most `settleMs`) until no job has changed
 * for `quietMs`, so that a burst landing over several reducer batches goes out in one tick. The
 * defaults scale with the interval: 250, 100 and 300 ms for 2 s.
 */
import type { ChangedJob } from "../../core/ports.ts";
import type { Log } from "../config.ts";
import type { TickReport } from "./tick.ts";

export interface RunOptions {
  intervalMs: number;
  durationMs: number;
  pollMs?: number;
  quietMs?: number;
  settleMs?: number;
  signal?: AbortSignal;
  onTick?: (report: TickReport) => void;
}

export interface Schedulable {
  now: () => number;
  log: Log;
  changedJobs(): Promise<ChangedJob[]>;
  tick(): Promise<TickReport>;
}

/** Sleeps `ms`; false (without sleeping) when that would pass `end`, or once stopped. */
async function sleepUntil(ms: number, end: number, now: () => number, signal: AbortSignal | undefined): Promise<boolean> {
  const isStopped = () => signal?.aborted === true;
  if (isStopped() || now() + ms >= end) return false;
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
}

/** Ticks as `options` says until `durationMs` has passed or `signal` aborts; returns the reports. */
export async function runSchedule(ticker: Schedulable, options: RunOptions): Promise<TickReport[]> {
  const { intervalMs, durationMs, signal, onTick } = options;
  const pollMs = options.pollMs ?? intervalMs / 8;
  const quietMs = options.quietMs ?? intervalMs / 20;
  const settleMs = options.settleMs ?? (intervalMs * 3) / 20;
  const end = ticker.now() + durationMs;
  const sleep = (ms: number) => sleepUntil(ms, end, ticker.now, signal);
  const reports: TickReport[] = [];
  let lastTickAt = -Infinity;
  let dueSince: number | null = null;
  while (signal?.aborted !== true) {
    const untilInterval = lastTickAt + intervalMs - pollMs - ticker.now();
    if (untilInterval > 0) {
      if (!(await sleep(untilInterval))) break;
      continue;
    }
    let pending: ChangedJob[] = [];
    try {
      pending = await ticker.changedJobs();
    } catch (error) {
      ticker.log("error", "looking for changed jobs failed", { error: String(error) });
    }
    const at = ticker.now();
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
      const report = await ticker.tick();
      reports.push(report);
      onTick?.(report);
    } catch (error) {
      ticker.log("error", "tick failed", { error: String(error) });
    }
  }
  return reports;
}
