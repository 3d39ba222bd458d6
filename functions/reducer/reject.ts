/**
 * What the reducer refuses, kept where a producer can read it: refused messages and events go to
 * the rejection log, under their job when it exists (`GET /v1/jobs/{id}/rejections`) or under the
 * tenant (`GET /v1/rejections`), each logged and counted. Events of a job not declared yet wait
 * in the queue (their message comes back with a growing delay) until the job appears, for at most
 * `pendingUnknownJobSeconds`; after that, or before the message would reach the DLQ by its receive
 * count, they are refused as `unknown_job`.
 */
import type { SQSRecord } from "aws-lambda";
import { excerptOf, isNotice, type EventRejection } from "../../core/contract/rejection.ts";
import type { JobRef, LoadedJob, RejectionRecord } from "../../core/ports.ts";
import { recordsOf, type Batch, type JobGroup, type Reducer } from "./context.ts";
import type { RefusedMessage } from "./group.ts";

/**
 * Logs and records the rejections of some messages, in one call so that a batch full of bad
 * messages costs one round of writes; returns the messages whose rejections could not be
 * recorded (they come back, to be judged again).
 */
export async function recordRefusedMessages(reducer: Reducer, batch: Batch, refused: readonly RefusedMessage[]): Promise<SQSRecord[]> {
  const { deps, metrics } = reducer;
  const atMs = deps.now();
  const stored: RejectionRecord[] = [];
  const storing = new Set<SQSRecord>();
  const incarnations = new Map<string, Promise<string | null>>();
  /** Input naming a job that exists is kept under it; anything else in the tenant's log. */
  const incarnationOf = (ref: JobRef) => {
    const key = `${ref.tenant}#${ref.jobId}`;
    let found = incarnations.get(key);
    if (found === undefined) incarnations.set(key, (found = deps.store.loadForBatch(ref, []).then((job) => job?.meta.incarnation ?? null)));
    return found;
  };
  try {
    for (const { record, tenant, rejections } of refused) {
      for (const [index, rejection] of rejections.entries()) {
        const jobId = rejection.jobId ?? null;
        batch.log("warn", "event rejected", { code: rejection.code, reason: rejection.message, tenant, job_id: jobId, message_id: record.messageId });
        const incarnation = jobId === null || rejection.code === "unknown_job" ? null : await incarnationOf({ tenant, jobId });
        stored.push({ tenant, jobId, incarnation, code: rejection.code, reason: rejection.message, source: `sqs:${record.messageId}:${index}`, excerpt: rejection.excerpt ?? excerptOf(record.body), atMs });
        storing.add(record);
      }
    }
    if (stored.length === 0) return [];
    await deps.rejections.record(stored);
    for (const { code } of stored) metrics.count("EventsRejected", 1, { code });
    batch.rejected += stored.length;
    return [];
  } catch (error) {
    batch.log("error", "rejections not recorded", { messages: storing.size, error: String(error) });
    return [...storing];
  }
}

/** Records the events of a job that its rules refused (or applied with a notice), under the job. */
export async function recordRefusedEvents(reducer: Reducer, batch: Batch, job: LoadedJob, refused: readonly EventRejection[], nowMs: number): Promise<void> {
  if (refused.length === 0) return;
  const { tenant, jobId, incarnation } = job.meta;
  await reducer.deps.rejections.record(
    refused.map((rejection, index) => ({
      tenant,
      jobId,
      incarnation,
      code: rejection.code,
      reason: rejection.message,
      source: `event:${rejection.event.event_id}:${index}`,
      excerpt: excerptOf(JSON.stringify(rejection.event)),
      atMs: nowMs,
    })),
  );
  for (const rejection of refused) {
    const fields = { code: rejection.code, reason: rejection.message, tenant, job_id: jobId, event_id: rejection.event.event_id };
    if (isNotice(rejection.code)) batch.log("info", "event applied with a notice", fields);
    else {
      batch.log("warn", "event refused", fields);
      reducer.metrics.count("EventsRejected", 1, { code: rejection.code });
      batch.rejected++;
    }
  }
}

/** The messages of a job that does not exist (yet): held in the queue with a growing delay, or refused as `unknown_job` once waited long enough. */
export async function holdForUnknownJob(reducer: Reducer, batch: Batch, group: JobGroup): Promise<SQSRecord[]> {
  const { deps } = reducer;
  const held: SQSRecord[] = [];
  for (const record of recordsOf(group.entries)) {
    const ageSeconds = (deps.now() - Number(record.attributes.SentTimestamp)) / 1000;
    const receives = Number(record.attributes.ApproximateReceiveCount);
    if (ageSeconds < deps.pendingUnknownJobSeconds && receives < deps.maxReceiveCount - 1) {
      held.push(record);
      await deps.delayMessage(record.receiptHandle, Math.min(60, 2 ** receives)).catch((error: unknown) => {
        batch.log("warn", "could not delay a held message", { tenant: group.ref.tenant, job_id: group.ref.jobId, message_id: record.messageId, error: String(error) });
      });
    } else {
      const reason = `job ${group.ref.jobId} was not declared within ${Math.round(ageSeconds)} s and ${receives} receives (limits: ${deps.pendingUnknownJobSeconds} s, ${deps.maxReceiveCount - 1} receives)`;
      held.push(...(await recordRefusedMessages(reducer, batch, [{ record, tenant: group.ref.tenant, rejections: [{ code: "unknown_job", message: reason, jobId: group.ref.jobId, excerpt: excerptOf(record.body) }] }])));
    }
  }
  if (held.length > 0) batch.log("info", "events held for a job not yet declared", { tenant: group.ref.tenant, job_id: group.ref.jobId, messages: held.length });
  return held;
}
