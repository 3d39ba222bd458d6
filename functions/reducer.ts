/**
 * The reducer Lambda: SQS event source → estimator → DynamoDB. It validates each message,
 * groups the batch by job, loads what the job's events touch, applies them, commits once and
 * writes back conditionally (no transactions). A lost race reloads and applies again (every
 * merge is idempotent); what still cannot be stored is reported as a partial batch failure.
 * Invalid input is recorded with its reason and removed; it never fails the batch.
 *
 * Events of a job that does not exist yet (a `job.declared` overtaken on the standard queue)
 * stay in the queue: their message is returned as a failure with a growing visibility delay
 * until the job appears, for at most `pendingUnknownJobSeconds`; after that, or before the
 * message would reach the DLQ by its receive count, they are rejected as `unknown_job`.
 */
import type { SQSBatchResponse, SQSEvent, SQSRecord } from "aws-lambda";
import type { Event } from "../core/contract.ts";
import { StoreConflict } from "../core/errors.ts";
import { reduce } from "../core/estimator.ts";
import { parseMessageBody, type InputRejection } from "../core/ingest.ts";
import { partitioningFor } from "../core/partition.ts";
import type { JobStore, RejectionRecord } from "../core/ports.ts";
import { createJobState } from "../core/state.ts";
import { environmentConfig, jsonLog, lazyHandler, type Log } from "./config.ts";

export interface ReducerDeps {
  store: JobStore;
  /** Makes a message visible again after `seconds` (SQS ChangeMessageVisibility). */
  delayMessage: (receiptHandle: string, seconds: number) => Promise<void>;
  log: Log;
  now: () => number;
  /** Tenant of jobs created by a `job.declared` on the queue (they carry no API key). */
  defaultTenant: string;
  maxReceiveCount: number;
  pendingUnknownJobSeconds: number;
  maxConflictRetries?: number;
  jobConcurrency?: number;
}

interface JobGroup {
  jobId: string;
  records: SQSRecord[];
  events: Event[];
}

export function createReducerHandler(deps: ReducerDeps): (event: SQSEvent) => Promise<SQSBatchResponse> {
  const maxRetries = deps.maxConflictRetries ?? 8;

  async function reject(record: SQSRecord, rejections: InputRejection[]): Promise<void> {
    const atMs = deps.now();
    const stored: RejectionRecord[] = [];
    rejections.forEach((rejection, index) => {
      deps.log("warn", "event rejected", { code: rejection.code, reason: rejection.reason, job_id: rejection.jobId, message_id: record.messageId });
      if (rejection.jobId !== null) {
        stored.push({ jobId: rejection.jobId, code: rejection.code, reason: rejection.reason, source: `sqs:${record.messageId}:${index}`, excerpt: rejection.excerpt, atMs });
      }
    });
    if (stored.length > 0) await deps.store.recordRejections(stored);
  }

  /** Applies one job's events; returns the records to report as failures. */
  async function applyGroup(group: JobGroup): Promise<SQSRecord[]> {
    for (let attempt = 1; ; attempt++) {
      try {
        let job = await deps.store.loadForBatch(group.jobId, group.events);
        if (job === null) {
          const declared = group.events.find((event) => event.type === "job.declared");
          if (declared === undefined) return await holdForUnknownJob(group);
          const meta = { jobId: group.jobId, tenant: deps.defaultTenant, createdAtMs: deps.now() };
          await deps.store.createJob(meta, createJobState(group.jobId, partitioningFor(declared)));
          job = await deps.store.loadForBatch(group.jobId, group.events);
          if (job === null) throw new Error(`job ${group.jobId} vanished after creation`);
        }
        const nowMs = deps.now();
        const { rejections: refused } = reduce(job.state, group.events, nowMs);
        await deps.store.save(job, nowMs);
        if (refused.length > 0) {
          await deps.store.recordRejections(
            refused.map((rejection, index) => ({
              jobId: group.jobId,
              code: rejection.code,
              reason: rejection.message,
              source: `event:${rejection.event.event_id}:${index}`,
              excerpt: JSON.stringify(rejection.event).slice(0, 500),
              atMs: nowMs,
            })),
          );
          for (const rejection of refused) deps.log("warn", "event refused", { code: rejection.code, job_id: group.jobId, event_id: rejection.event.event_id });
        }
        return [];
      } catch (error) {
        if (error instanceof StoreConflict && attempt < maxRetries) {
          await sleep(Math.random() * 20 * 2 ** attempt);
          continue;
        }
        deps.log("error", "job batch not stored", { job_id: group.jobId, attempt, error: String(error) });
        return group.records;
      }
    }
  }

  async function holdForUnknownJob(group: JobGroup): Promise<SQSRecord[]> {
    const held: SQSRecord[] = [];
    for (const record of group.records) {
      const ageSeconds = (deps.now() - Number(record.attributes.SentTimestamp)) / 1000;
      const receives = Number(record.attributes.ApproximateReceiveCount);
      if (ageSeconds < deps.pendingUnknownJobSeconds && receives < deps.maxReceiveCount - 1) {
        held.push(record);
        await deps.delayMessage(record.receiptHandle, Math.min(60, 2 ** receives)).catch((error: unknown) => {
          deps.log("warn", "could not delay a held message", { message_id: record.messageId, error: String(error) });
        });
      } else {
        const reason = `job ${group.jobId} was not declared within ${Math.round(ageSeconds)} s and ${receives} receives (limits: ${deps.pendingUnknownJobSeconds} s, ${deps.maxReceiveCount - 1} receives)`;
        await reject(record, [{ code: "unknown_job", reason, jobId: group.jobId, excerpt: record.body.slice(0, 500) }]);
      }
    }
    if (held.length > 0) deps.log("info", "events held for a job not yet declared", { job_id: group.jobId, messages: held.length });
    return held;
  }

  return async (event) => {
    const groups = new Map<string, JobGroup>();
    for (const record of event.Records) {
      const { events, rejections } = parseMessageBody(record.body);
      if (rejections.length > 0) await reject(record, rejections);
      for (const parsed of events) {
        let group = groups.get(parsed.job_id);
        if (group === undefined) groups.set(parsed.job_id, (group = { jobId: parsed.job_id, records: [], events: [] }));
        if (group.records.at(-1) !== record) group.records.push(record);
        group.events.push(parsed);
      }
    }
    const failed = new Set<SQSRecord>();
    const pending = [...groups.values()];
    const workers = Array.from({ length: Math.min(deps.jobConcurrency ?? 8, pending.length) }, async () => {
      for (let group = pending.shift(); group !== undefined; group = pending.shift()) {
        for (const record of await applyGroup(group)) failed.add(record);
      }
    });
    await Promise.all(workers);
    return { batchItemFailures: [...failed].map((record) => ({ itemIdentifier: record.messageId })) };
  };
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** The Lambda entry point, wired to the environment on first use. */
export const handler = lazyHandler(async () => {
  const config = environmentConfig();
  const { createAwsClients } = await import("./adapters/aws-clients.ts");
  const { createDynamoStore } = await import("./adapters/dynamo-store.ts");
  const { createSqsPublisher } = await import("./adapters/sqs-publisher.ts");
  const clients = createAwsClients(config);
  const sqs = createSqsPublisher({ client: clients.sqs, queueUrl: config.eventsQueueUrl() });
  return createReducerHandler({
    store: createDynamoStore({ client: clients.dynamodb, tableName: config.tableName }),
    delayMessage: sqs.delay,
    log: jsonLog,
    now: Date.now,
    defaultTenant: config.defaultTenant,
    maxReceiveCount: config.maxReceiveCount,
    pendingUnknownJobSeconds: config.pendingUnknownJobSeconds,
  });
});
