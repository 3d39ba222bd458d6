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
 */
import type { SQSBatchResponse, SQSEvent, SQSRecord } from "aws-lambda";
import { randomUUID } from "node:crypto";
import type { Event } from "../../core/contract/events.ts";
import { ItemTooLarge, StoreConflict, type ErrorCode } from "../../core/errors.ts";
import { createJobState, partitioningFor, reduce } from "../../core/estimator/index.ts";
import { parseMessageBody, type ParsedMessage } from "../../core/contract/ingest.ts";
import type { Announcement, ChangeFeed, JobRef, JobStore, LoadedJob, RejectionLog, RejectionRecord } from "../../core/ports.ts";
import { excerptOf, isNotice, type EventRejection, type Rejection } from "../../core/contract/rejection.ts";
import { withFields, type InvocationContext, type Log } from "../config.ts";
import { newJobMeta } from "../identity.ts";
import { createMemoryMetrics, type Metrics } from "../metrics.ts";

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

/** One message's events of one job. */
interface Entry {
  record: SQSRecord;
  events: Event[];
}

interface JobGroup {
  ref: JobRef;
  entries: Entry[];
}

/** Tenant names, like job ids, are 1–128 characters of `[A-Za-z0-9._:-]` (no `#`: storage keys join them with it). */
const TENANT_NAME = /^[A-Za-z0-9._:-]{1,128}$/;
/**
 * Jobs of a batch applied side by side: as many as one BatchGetItem reads (100 keys). Their reads
 * go out together (the store gathers the reads of one moment into one BatchGetItem), so a batch
 * of 100 one-event jobs reads its heads in one request and their parts in a few more.
 */
const JOB_CONCURRENCY = 100;

const eventsOf = (entries: readonly Entry[]): Event[] => entries.flatMap((entry) => entry.events);
const recordsOf = (entries: readonly Entry[]): SQSRecord[] => [...new Set(entries.map((entry) => entry.record))];

/** The stored record an event grows: its file (or input), its indicator task, or the job's head. */
function recordOf(event: Event): string {
  switch (event.type) {
    case "original.added":
      return `file ${event.original_id}`;
    case "step.started":
    case "step.progress":
    case "step.completed":
    case "step.failed":
      return event.original_id !== undefined ? `file ${event.original_id}` : event.input_id !== undefined ? `input ${event.input_id}` : `step ${event.step}`;
    case "indicator.added":
    case "indicator.done":
    case "indicator.reported":
      return `task ${event.task_id} of label ${event.label ?? "(unnamed)"}`;
    default:
      return "the job's head";
  }
}

/** A throw of the core while applying events (a bug), as opposed to a failure of the store. */
class ApplyFailure extends Error {}

/** One invocation's log (every line carries its `invocation_id`) and tallies. */
interface Batch {
  log: Log;
  applied: number;
  rejected: number;
}

export function createReducerHandler(deps: ReducerDeps): (event: SQSEvent, context?: InvocationContext) => Promise<SQSBatchResponse> {
  const maxRetries = deps.maxConflictRetries ?? 8;
  const parse = deps.parse ?? parseMessageBody;
  const metrics = deps.metrics ?? createMemoryMetrics();

  /**
   * Logs and records the rejections of some messages, in one call so that a batch full of bad
   * messages costs one round of writes; returns the messages whose rejections could not be
   * recorded (they come back, to be judged again).
   */
  async function reject(batch: Batch, rejected: readonly { record: SQSRecord; tenant: string; rejections: readonly Rejection[] }[]): Promise<SQSRecord[]> {
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
      for (const { record, tenant, rejections } of rejected) {
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

  async function recordRefused(batch: Batch, job: LoadedJob, refused: readonly EventRejection[], nowMs: number): Promise<void> {
    if (refused.length === 0) return;
    const { tenant, jobId, incarnation } = job.meta;
    await deps.rejections.record(
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
        metrics.count("EventsRejected", 1, { code: rejection.code });
        batch.rejected++;
      }
    }
  }

  async function load(group: JobGroup, events: readonly Event[]): Promise<LoadedJob | null> {
    const job = await deps.store.loadForBatch(group.ref, events);
    if (job !== null) return job;
    const declared = events.find((event) => event.type === "job.declared");
    if (declared === undefined) return null;
    // Created with its declarations applied (as POST /v1/jobs does), so that a crash before the
    // batch is saved never leaves a job that exists but was never declared.
    const state = createJobState(group.ref.jobId, partitioningFor(declared));
    reduce(state, events.filter((event) => event.type === "job.declared"), deps.now());
    await deps.store.createJob(newJobMeta(group.ref, deps.now()), state);
    const created = await deps.store.loadForBatch(group.ref, events);
    if (created === null) throw new Error(`job ${group.ref.jobId} vanished after creation`);
    return created;
  }

  function applyTo(job: LoadedJob, events: readonly Event[], nowMs: number): EventRejection[] {
    try {
      return reduce(job.state, events, nowMs).rejections;
    } catch (error) {
      throw new ApplyFailure(String(error), { cause: error });
    }
  }

  /**
   * The core threw on some event of this job (a bug: valid events must apply). Apply message by
   * message on fresh loads and hand back the messages whose events throw: they return to the
   * queue and end in the DLQ for an operator (they are valid input, not to be dropped), while the
   * job's other messages are applied.
   */
  async function applyIsolating(batch: Batch, group: JobGroup, nowMs: number): Promise<{ job: LoadedJob | null; refused: EventRejection[]; poisoned: Entry[] }> {
    const good: Entry[] = [];
    const poisoned: Entry[] = [];
    let job: LoadedJob | null = null;
    for (const entry of group.entries) {
      // Loaded for every event of the group: a store loads only the parts the given events touch.
      job ??= await load(group, eventsOf(group.entries));
      if (job === null) {
        poisoned.push(entry);
        continue;
      }
      try {
        reduce(job.state, entry.events, nowMs);
        good.push(entry);
      } catch (error) {
        batch.log("error", "events could not be applied", { tenant: group.ref.tenant, job_id: group.ref.jobId, message_id: entry.record.messageId, error: String(error) });
        poisoned.push(entry);
        job = null; // its state may be half-updated: start again from storage
      }
    }
    const events = eventsOf(good);
    const fresh = events.length === 0 ? null : await load(group, events);
    return { job: fresh, refused: fresh === null ? [] : applyTo(fresh, events, nowMs), poisoned };
  }

  /**
   * The group's events would make an item larger than DynamoDB stores (README, limits): nothing
   * of them was written. Applies as much of them as fits, by halves on fresh loads: a half that
   * fits is stored, one that does not is halved again, and a single event that does not fit is
   * refused as `item_too_large`; the record it grows (its file, its task, or the job's head) is
   * then full for the rest of the group, whose events of that record are refused with it. Every
   * other event is stored. A few dozen loads and writes per record that fills up, and taken only
   * by input that reaches a limit.
   */
  async function applyWithinLimits(group: JobGroup, nowMs: number): Promise<{ job: LoadedJob; refused: EventRejection[] }> {
    const refused: EventRejection[] = [];
    const full = new Set<string>();
    let last: LoadedJob | null = null;
    const refuse = (event: Event, record: string) =>
      refused.push({ event, code: "item_too_large", message: `the stored record of ${record} would be larger than a DynamoDB item holds (400 KB): this event is refused and the record keeps what it had (README, limits)` });
    const attempt = async (events: Event[]): Promise<boolean> => {
      const job = await load(group, events);
      if (job === null) throw new Error(`job ${group.ref.jobId} vanished while applying within limits`);
      const rejections = applyTo(job, events, nowMs);
      try {
        await deps.store.save(job, nowMs);
      } catch (error) {
        if (error instanceof ItemTooLarge) return false;
        throw error;
      }
      refused.push(...rejections);
      last = job;
      return true;
    };
    const applyFitting = async (events: Event[]): Promise<void> => {
      const open = events.filter((event) => !full.has(recordOf(event)));
      for (const event of events) if (full.has(recordOf(event))) refuse(event, recordOf(event));
      if (open.length === 0 || (await attempt(open))) return;
      if (open.length === 1) {
        full.add(recordOf(open[0]!));
        refuse(open[0]!, recordOf(open[0]!));
        return;
      }
      const half = Math.ceil(open.length / 2);
      await applyFitting(open.slice(0, half));
      await applyFitting(open.slice(half));
    };
    await applyFitting(eventsOf(group.entries));
    return { job: last ?? (await load(group, []))!, refused };
  }

  /**
   * Applies one job's events; returns the records to report as failures, and the version to
   * announce once the batch's jobs are stored.
   */
  async function applyGroup(batch: Batch, group: JobGroup): Promise<{ failed: SQSRecord[]; announce?: Announcement }> {
    for (let attempt = 1; ; attempt++) {
      try {
        const events = eventsOf(group.entries);
        let job = await load(group, events);
        if (job === null) return { failed: await holdForUnknownJob(batch, group) };
        const nowMs = deps.now();
        let refused: EventRejection[];
        let poisoned: Entry[] = [];
        try {
          refused = applyTo(job, events, nowMs);
        } catch (error) {
          if (!(error instanceof ApplyFailure)) throw error;
          // (If the commit of the good messages throws too, the whole group comes back, as a store failure would.)
          ({ job, refused, poisoned } = await applyIsolating(batch, group, nowMs));
        }
        if (job === null) return { failed: recordsOf(poisoned) };
        try {
          await deps.store.save(job, nowMs);
        } catch (error) {
          if (!(error instanceof ItemTooLarge)) throw error;
          batch.log("warn", "job batch would pass an item's size; applying it within limits", { tenant: group.ref.tenant, job_id: group.ref.jobId, error: error.message });
          ({ job, refused } = await applyWithinLimits({ ...group, entries: group.entries.filter((entry) => !poisoned.includes(entry)) }, nowMs));
        }
        batch.applied += events.length - eventsOf(poisoned).length - refused.filter((rejection) => !isNotice(rejection.code)).length;
        await recordRefused(batch, job, refused, nowMs);
        // Handing back a record returns its whole message; no other job shares it (an envelope's valid events are of one job).
        return { failed: recordsOf(poisoned), announce: { meta: job.meta, version: job.state.version } };
      } catch (error) {
        if (error instanceof StoreConflict && attempt < maxRetries) {
          await sleep(Math.random() * 20 * 2 ** attempt);
          continue;
        }
        batch.log("error", "job batch not stored", { tenant: group.ref.tenant, job_id: group.ref.jobId, attempt, error: String(error) });
        return { failed: recordsOf(group.entries) };
      }
    }
  }

  /**
   * Announces the stored jobs together; the records of a job left unannounced come back, so that
   * their redelivery announces it (its events are already applied: the batch is a no-op but for
   * the marker).
   */
  async function announce(batch: Batch, stored: ReadonlyMap<Announcement, JobGroup>, nowMs: number): Promise<SQSRecord[]> {
    if (stored.size === 0) return [];
    let result: { unannounced: Announcement[]; failure: unknown };
    try {
      result = await deps.changeFeed.markChanged([...stored.keys()], nowMs);
    } catch (error) {
      result = { unannounced: [...stored.keys()], failure: error };
    }
    return result.unannounced.flatMap((change) => {
      const group = stored.get(change)!;
      batch.log("error", "job stored but not announced; its messages come back to announce it", { tenant: group.ref.tenant, job_id: group.ref.jobId, error: String(result.failure) });
      return recordsOf(group.entries);
    });
  }

  async function holdForUnknownJob(batch: Batch, group: JobGroup): Promise<SQSRecord[]> {
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
        held.push(...(await reject(batch, [{ record, tenant: group.ref.tenant, rejections: [{ code: "unknown_job", message: reason, jobId: group.ref.jobId, excerpt: excerptOf(record.body) }] }])));
      }
    }
    if (held.length > 0) batch.log("info", "events held for a job not yet declared", { tenant: group.ref.tenant, job_id: group.ref.jobId, messages: held.length });
    return held;
  }

  /** One message's events, never a throw: whatever its bytes, a message is judged alone. */
  function parseRecord(batch: Batch, record: SQSRecord): ParsedMessage {
    try {
      return parse(record.body);
    } catch (error) {
      batch.log("error", "message could not be parsed", { message_id: record.messageId, error: String(error) });
      const message = `Headway could not validate this message (${String(error).slice(0, 200)})`;
      return { isEnvelope: false, events: [], rejections: [{ code: "invalid_event", message, jobId: null, excerpt: excerptOf(record.body) }] };
    }
  }

  /** The tenant a message names, or a rejection (logged only: a tenant that is not valid has no log to keep it in). */
  function tenantOf(record: SQSRecord): string | null {
    const tenant = record.messageAttributes?.tenant?.stringValue ?? deps.defaultTenant;
    return TENANT_NAME.test(tenant) ? tenant : null;
  }

  return async (event, context) => {
    const batch: Batch = { log: withFields(deps.log, { invocation_id: context?.awsRequestId ?? randomUUID() }), applied: 0, rejected: 0 };
    const ingestLagMs = ingestLagOf(event.Records, deps.now());
    const failed = new Set<SQSRecord>();
    const groups = new Map<string, JobGroup>();
    const rejected: { record: SQSRecord; tenant: string; rejections: Rejection[] }[] = [];
    for (const record of event.Records) {
      const tenant = tenantOf(record);
      if (tenant === null) {
        const code: ErrorCode = "invalid_tenant";
        batch.log("warn", "message rejected: its tenant attribute is not a tenant name", { code, message_id: record.messageId, excerpt: excerptOf(record.body) });
        metrics.count("EventsRejected", 1, { code });
        batch.rejected++;
        continue;
      }
      const { events, rejections } = parseRecord(batch, record);
      if (rejections.length > 0) rejected.push({ record, tenant, rejections });
      for (const parsed of events) {
        const key = `${tenant}#${parsed.job_id}`;
        let group = groups.get(key);
        if (group === undefined) groups.set(key, (group = { ref: { tenant, jobId: parsed.job_id }, entries: [] }));
        const last = group.entries.at(-1);
        if (last?.record === record) last.events.push(parsed);
        else group.entries.push({ record, events: [parsed] });
      }
    }
    for (const record of await reject(batch, rejected)) failed.add(record);
    const pending = [...groups.values()];
    const stored = new Map<Announcement, JobGroup>();
    const workers = Array.from({ length: Math.min(deps.jobConcurrency ?? JOB_CONCURRENCY, pending.length) }, async () => {
      for (let group = pending.shift(); group !== undefined; group = pending.shift()) {
        const { failed: returned, announce } = await applyGroup(batch, group);
        for (const record of returned) failed.add(record);
        if (announce !== undefined) stored.set(announce, group);
      }
    });
    await Promise.all(workers);
    for (const record of await announce(batch, stored, deps.now())) failed.add(record);
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

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
