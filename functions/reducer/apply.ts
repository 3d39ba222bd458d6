/**
 * One job's events applied: load what they touch (creating the job when they declare it), fold
 * them in and commit once (the estimator's `reduce`), write back conditionally; a lost race
 * reloads and applies again (every merge is idempotent), up to `maxRetries`. A throw of the core
 * on a valid-looking message hands back that message alone (to reach the DLQ) while the job's
 * other messages are applied; events that would grow an item past DynamoDB's 400 KB are refused
 * one by one as `item_too_large` while the rest are stored. Once a batch's jobs are stored they
 * are announced together on the change feed.
 */
import type { SQSRecord } from "aws-lambda";
import type { Event } from "../../core/contract/events.ts";
import { isNotice, type EventRejection } from "../../core/contract/rejection.ts";
import { ItemTooLarge, StoreConflict } from "../../core/errors.ts";
import { createJobState, partitioningFor, reduce } from "../../core/estimator/index.ts";
import type { Announcement, LoadedJob } from "../../core/ports.ts";
import { newJobMeta } from "../identity.ts";
import { eventsOf, recordsOf, type Batch, type Entry, type JobGroup, type Reducer } from "./context.ts";
import { holdForUnknownJob, recordRefusedEvents } from "./reject.ts";

/** A throw of the core while applying events (a bug), as opposed to a failure of the store. */
class ApplyFailure extends Error {}

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
    case "job.declared":
    case "originals.sealed":
    case "job.completed":
    case "job.failed":
    case "job.cancelled":
      return "the job's head";
    default: {
      const unhandled: never = event;
      throw new Error(`unhandled event type ${(unhandled as Event).type}`);
    }
  }
}

/** Loads what the events touch; a job they declare is created first, with its declarations applied (as POST /v1/jobs does), so that a crash before the batch is saved never leaves a job that exists but was never declared. */
async function load(reducer: Reducer, group: JobGroup, events: readonly Event[]): Promise<LoadedJob | null> {
  const { store, now } = reducer.deps;
  const job = await store.loadForBatch(group.ref, events);
  if (job !== null) return job;
  const declared = events.find((event) => event.type === "job.declared");
  if (declared === undefined) return null;
  const state = createJobState(group.ref.jobId, partitioningFor(declared));
  reduce(state, events.filter((event) => event.type === "job.declared"), now());
  await store.createJob(newJobMeta(group.ref, now()), state);
  const created = await store.loadForBatch(group.ref, events);
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
async function applyIsolating(reducer: Reducer, batch: Batch, group: JobGroup, nowMs: number): Promise<{ job: LoadedJob | null; refused: EventRejection[]; poisoned: Entry[] }> {
  const good: Entry[] = [];
  const poisoned: Entry[] = [];
  let job: LoadedJob | null = null;
  for (const entry of group.entries) {
    // Loaded for every event of the group: a store loads only the parts the given events touch.
    job ??= await load(reducer, group, eventsOf(group.entries));
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
  const fresh = events.length === 0 ? null : await load(reducer, group, events);
  return { job: fresh, refused: fresh === null ? [] : applyTo(fresh, events, nowMs), poisoned };
}

/**
 * The group's events would make an item larger than DynamoDB stores (docs/storage.md, limits):
 * nothing of them was written. Applies as much of them as fits, by halves on fresh loads: a half
 * that fits is stored, one that does not is halved again, and a single event that does not fit is
 * refused as `item_too_large`; the record it grows (its file, its task, or the job's head) is
 * then full for the rest of the group, whose events of that record are refused with it. Every
 * other event is stored. A few dozen loads and writes per record that fills up, and taken only
 * by input that reaches a limit.
 */
async function applyWithinLimits(reducer: Reducer, group: JobGroup, nowMs: number): Promise<{ job: LoadedJob; refused: EventRejection[] }> {
  const refused: EventRejection[] = [];
  const full = new Set<string>();
  let last: LoadedJob | null = null;
  const refuse = (event: Event, record: string) =>
    refused.push({ event, code: "item_too_large", message: `the stored record of ${record} would be larger than a DynamoDB item holds (400 KB): this event is refused and the record keeps what it had (README, limits)` });
  const attempt = async (events: Event[]): Promise<boolean> => {
    const job = await load(reducer, group, events);
    if (job === null) throw new Error(`job ${group.ref.jobId} vanished while applying within limits`);
    const rejections = applyTo(job, events, nowMs);
    try {
      await reducer.deps.store.save(job, nowMs);
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
  return { job: last ?? (await load(reducer, group, []))!, refused };
}

/** Applies one job's events; returns the records to report as failures, and the version to announce once the batch's jobs are stored. */
export async function applyGroup(reducer: Reducer, batch: Batch, group: JobGroup): Promise<{ failed: SQSRecord[]; announce?: Announcement }> {
  for (let attempt = 1; ; attempt++) {
    try {
      const events = eventsOf(group.entries);
      let job = await load(reducer, group, events);
      if (job === null) return { failed: await holdForUnknownJob(reducer, batch, group) };
      const nowMs = reducer.deps.now();
      let refused: EventRejection[];
      let poisoned: Entry[] = [];
      try {
        refused = applyTo(job, events, nowMs);
      } catch (error) {
        if (!(error instanceof ApplyFailure)) throw error;
        // (If the commit of the good messages throws too, the whole group comes back, as a store failure would.)
        ({ job, refused, poisoned } = await applyIsolating(reducer, batch, group, nowMs));
      }
      if (job === null) return { failed: recordsOf(poisoned) };
      try {
        await reducer.deps.store.save(job, nowMs);
      } catch (error) {
        if (!(error instanceof ItemTooLarge)) throw error;
        batch.log("warn", "job batch would pass an item's size; applying it within limits", { tenant: group.ref.tenant, job_id: group.ref.jobId, error: error.message });
        ({ job, refused } = await applyWithinLimits(reducer, { ...group, entries: group.entries.filter((entry) => !poisoned.includes(entry)) }, nowMs));
      }
      batch.applied += events.length - eventsOf(poisoned).length - refused.filter((rejection) => !isNotice(rejection.code)).length;
      await recordRefusedEvents(reducer, batch, job, refused, nowMs);
      // Handing back a record returns its whole message; no other job shares it (an envelope's valid events are of one job).
      return { failed: recordsOf(poisoned), announce: { meta: job.meta, version: job.state.version } };
    } catch (error) {
      if (error instanceof StoreConflict && attempt < reducer.maxRetries) {
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
export async function announce(reducer: Reducer, batch: Batch, stored: ReadonlyMap<Announcement, JobGroup>, nowMs: number): Promise<SQSRecord[]> {
  if (stored.size === 0) return [];
  let result: { unannounced: Announcement[]; failure: unknown };
  try {
    result = await reducer.deps.changeFeed.markChanged([...stored.keys()], nowMs);
  } catch (error) {
    result = { unannounced: [...stored.keys()], failure: error };
  }
  return result.unannounced.flatMap((change) => {
    const group = stored.get(change)!;
    batch.log("error", "job stored but not announced; its messages come back to announce it", { tenant: group.ref.tenant, job_id: group.ref.jobId, error: String(result.failure) });
    return recordsOf(group.entries);
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
