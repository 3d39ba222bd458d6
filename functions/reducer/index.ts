/**
 * The reducer Lambda: SQS event source → estimator → DynamoDB. It validates each message,
 * groups the batch by job, loads what the job's events touch, applies them, commits once and
 * writes back conditionally (no transactions). A lost race reloads and applies again (every
 * merge is idempotent); what still cannot be stored is reported as a partial batch failure.
 * Invalid input is recorded with its reason and removed; it never fails the batch: each message is
 * parsed inside its own guard, and a throw of the core on a valid-looking message hands back that
 * message alone (to reach the DLQ), while the job's other messages are applied.
 *
 * Events of a job that does not exist yet (a `job.declared` overtaken on the standard queue)
 * stay in the queue: their message is returned as a failure with a growing visibility delay
 * until the job appears, for at most `pendingUnknownJobSeconds`; after that, or before the
 * message would reach the DLQ by its receive count, they are rejected as `unknown_job` into the
 * tenant's log (`GET /v1/rejections`).
 *
 * A message names its tenant in the `tenant` message attribute (the queue is trusted through
 * IAM; `defaultTenant` when absent). Once a batch's jobs are stored, changed or not, the reducer
 * announces their versions on the change feed, together (a tick then sees the batch whole): a
 * redelivered batch (its marker write failed, or it crashed after the head) announces again what
 * would otherwise never be pushed.
 *
 * Here the invocation: group.ts reads and groups the messages, apply.ts applies each job's,
 * reject.ts keeps what was refused.
 */
import type { SQSBatchResponse, SQSEvent, SQSRecord } from "aws-lambda";
import { randomUUID } from "node:crypto";
import { parseMessageBody } from "../../core/contract/ingest.ts";
import type { Announcement } from "../../core/ports.ts";
import { withFields, type InvocationContext } from "../config.ts";
import { createMemoryMetrics } from "../metrics.ts";
import { announce, applyGroup } from "./apply.ts";
import type { Batch, JobGroup, Reducer, ReducerDeps } from "./context.ts";
import { groupRecords } from "./group.ts";
import { recordRefusedMessages } from "./reject.ts";

export type { ReducerDeps } from "./context.ts";

/**
 * Jobs of a batch applied side by side: as many as one BatchGetItem reads (100 keys). Their reads
 * go out together (the store gathers the reads of one moment into one BatchGetItem), so a batch
 * of 100 one-event jobs reads its heads in one request and their parts in a few more.
 */
const JOB_CONCURRENCY = 100;

export function createReducerHandler(deps: ReducerDeps): (event: SQSEvent, context?: InvocationContext) => Promise<SQSBatchResponse> {
  const reducer: Reducer = { deps, metrics: deps.metrics ?? createMemoryMetrics(), parse: deps.parse ?? parseMessageBody, maxRetries: deps.maxConflictRetries ?? 8 };
  const { metrics } = reducer;

  return async (event, context) => {
    const batch: Batch = { log: withFields(deps.log, { invocation_id: context?.awsRequestId ?? randomUUID() }), applied: 0, rejected: 0 };
    const ingestLagMs = ingestLagOf(event.Records, deps.now());
    const failed = new Set<SQSRecord>();
    const { groups, refused } = groupRecords(reducer, batch, event.Records);
    for (const record of await recordRefusedMessages(reducer, batch, refused)) failed.add(record);
    const pending = [...groups.values()];
    const stored = new Map<Announcement, JobGroup>();
    const workers = Array.from({ length: Math.min(deps.jobConcurrency ?? JOB_CONCURRENCY, pending.length) }, async () => {
      for (let group = pending.shift(); group !== undefined; group = pending.shift()) {
        const { failed: returned, announce: announcement } = await applyGroup(reducer, batch, group);
        for (const record of returned) failed.add(record);
        if (announcement !== undefined) stored.set(announcement, group);
      }
    });
    await Promise.all(workers);
    for (const record of await announce(reducer, batch, stored, deps.now())) failed.add(record);
    if (ingestLagMs !== null) metrics.timing("IngestLag", ingestLagMs);
    metrics.count("EventsApplied", batch.applied);
    metrics.count("MessagesReturned", failed.size);
    metrics.flush();
    batch.log("info", "batch", { messages: event.Records.length, jobs: groups.size, events_applied: batch.applied, events_rejected: batch.rejected, messages_returned: failed.size, ingest_lag_ms: ingestLagMs });
    return { batchItemFailures: [...failed].map((record) => ({ itemIdentifier: record.messageId })) };
  };
}

/**
 * The age of the oldest message the batch receives for the first time: how far ingestion is
 * behind. Redelivered messages are left out: they are old by design (held for a job not yet
 * declared, or handed back after a failure) and are counted as MessagesReturned instead. A
 * reducer that stops consuming emits nothing; the queue's own ApproximateAgeOfOldestMessage
 * alarm (infra/alarms.ts) covers that.
 */
function ingestLagOf(records: readonly SQSRecord[], nowMs: number): number | null {
  const sent = records.filter((record) => record.attributes.ApproximateReceiveCount === "1").map((record) => Number(record.attributes.SentTimestamp)).filter(Number.isFinite);
  return sent.length === 0 ? null : Math.max(0, nowMs - Math.min(...sent));
}
