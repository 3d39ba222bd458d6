/**
 * A delivery channel of the ticker: given the jobs rendered this tick, it sends what it owes to
 * its audience (WebSocket subscribers, webhook endpoints) and says which jobs it could not serve
 * in full. The ticker keeps those jobs' change markers, so the next tick serves them again: every
 * stored version is eventually delivered, at least once (receivers drop repeats by `version`).
 * A channel isolates failures per job, connection and endpoint; it never throws for one of them.
 */
import type { Snapshot } from "../../../core/contract/snapshot.ts";
import type { ChangedJob } from "../../../core/ports.ts";
import type { JobState } from "../../../core/estimator/index.ts";
import type { Log } from "../../config.ts";

export interface RenderedJob {
  job: ChangedJob;
  state: JobState;
  snapshot: Snapshot;
  isFinished: boolean;
}

export interface ChannelResult {
  /** Jobs (of those given) that must be tried again next tick. */
  retry: Set<RenderedJob>;
  /** Frames posted or webhooks enqueued. */
  sent: number;
  /** Audience members forgotten (connections gone). */
  dropped: number;
}

export interface DeliveryChannel {
  name: string;
  /** `log` is the tick's: its lines carry the ticker's and the tick's ids. */
  deliver(jobs: readonly RenderedJob[], tick: number, log: Log): Promise<ChannelResult>;
}
