/**
 * What the reducer's modules share: its dependencies, one invocation's batch (its log, whose lines
 * carry the invocation's id, and its tallies), and a job's messages grouped (group.ts) for
 * applying (apply.ts) or refusing (reject.ts).
 */
import type { SQSRecord } from "aws-lambda";
import type { Event } from "../../core/contract/events.ts";
import type { ParsedMessage } from "../../core/contract/ingest.ts";
import type { ChangeFeed, JobRef, JobStore, RejectionLog } from "../../core/ports.ts";
import type { Log } from "../config.ts";
import type { Metrics } from "../metrics.ts";

export interface ReducerDeps {
  store: JobStore;
  changeFeed: ChangeFeed;
  rejections: RejectionLog;
  /** Makes a message visible again after `seconds` (SQS ChangeMessageVisibility). */
  delayMessage: (receiptHandle: string, seconds: number) => Promise<void>;
  log: Log;
  /** IngestLag, EventsApplied, EventsRejected (by code), MessagesReturned; flushed after each batch. */
  metrics?: Metrics;
  now: () => number;
  /** Tenant of messages without a `tenant` attribute. */
  defaultTenant: string;
  maxReceiveCount: number;
  pendingUnknownJobSeconds: number;
  maxConflictRetries?: number;
  /** Jobs of a batch applied at once (JOB_CONCURRENCY by default). */
  jobConcurrency?: number;
  /** How a message body becomes events; tests swap in a faulty parser to prove the fuzz test can fail. */
  parse?: (body: string) => ParsedMessage;
}

/** The reducer's dependencies with their defaults filled in. */
export interface Reducer {
  deps: ReducerDeps;
  metrics: Metrics;
  parse: (body: string) => ParsedMessage;
  maxRetries: number;
}

/** One invocation's log (every line carries its `invocation_id`) and tallies. */
export interface Batch {
  log: Log;
  applied: number;
  rejected: number;
}

/** One message's events of one job. */
export interface Entry {
  record: SQSRecord;
  events: Event[];
}

/** A job's messages in a batch, in the order they came. */
export interface JobGroup {
  ref: JobRef;
  entries: Entry[];
}

export const eventsOf = (entries: readonly Entry[]): Event[] => entries.flatMap((entry) => entry.events);
export const recordsOf = (entries: readonly Entry[]): SQSRecord[] => [...new Set(entries.map((entry) => entry.record))];
