/**
 * Batching: events wait per job for a short linger, then leave as envelopes (core/contract/envelopes.ts);
 * a job whose waiting events fill an envelope leaves at once. Reports that only restate a running
 * total (`indicator.reported` of one label, task and attempt) replace their predecessor while it
 * still waits, since the later total says everything the earlier one did.
 *
 * Sends run in the background, a few at a time. A send that fails for good goes to `onError` and
 * is kept until the next `flush()`, which rejects with it: a failure is never silent.
 */
import type { Event } from "../../core/contract/events.ts";
import { envelopeBytesOf, envelopesOf, hasRoom } from "../../core/contract/envelopes.ts";
import { HeadwayDeliveryError, type DeliveryFailure } from "./errors.ts";
import type { Transport } from "./transport.ts";

export interface BatcherOptions {
  transport: Transport;
  lingerMs: number;
  /** Sends in flight at once (each is one job's envelopes). */
  concurrency: number;
  onError?: ((error: Error, failure: DeliveryFailure) => void) | undefined;
}

interface Pending {
  events: Event[];
  sizes: number[];
  bytes: number;
  /** Where each coalescable report waits in `events`. */
  slots: Map<string, number>;
}

export interface Batcher {
  /** Queues one event; `coalesceKey` names reports of which only the latest matters. */
  add(event: Event, coalesceKey?: string): void;
  /** Sends everything queued and waits for every send; rejects with the failures since the last flush. */
  flush(): Promise<void>;
  /** Events queued and not yet handed to the transport. */
  readonly waiting: number;
}

export function createBatcher(options: BatcherOptions): Batcher {
  const pending = new Map<string, Pending>();
  const inFlight = new Set<Promise<void>>();
  const failures: DeliveryFailure[] = [];
  const queue: (() => void)[] = [];
  let running = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let waiting = 0;

  async function slot<T>(work: () => Promise<T>): Promise<T> {
    if (running >= options.concurrency) await new Promise<void>((resolve) => queue.push(resolve));
    running++;
    try {
      return await work();
    } finally {
      running--;
      queue.shift()?.();
    }
  }

  function send(jobId: string): void {
    const job = pending.get(jobId);
    if (job === undefined) return;
    pending.delete(jobId);
    waiting -= job.events.length;
    const events = job.events;
    const sending = slot(() => options.transport.send(jobId, envelopesOf(events))).catch((error: unknown) => {
      const failure: DeliveryFailure = { jobId, events, error: error instanceof Error ? error : new Error(String(error)) };
      failures.push(failure);
      try {
        options.onError?.(failure.error, failure);
      } catch {
        // A throwing hook must not turn a recorded failure into an unhandled rejection.
      }
    });
    const tracked = sending.finally(() => inFlight.delete(tracked));
    inFlight.add(tracked);
  }

  function sendAll(): void {
    if (timer !== undefined) clearTimeout(timer);
    timer = undefined;
    for (const jobId of [...pending.keys()]) send(jobId);
  }

  return {
    add(event, coalesceKey) {
      const size = envelopeBytesOf(event);
      let job = pending.get(event.job_id);
      const slotIndex = coalesceKey === undefined ? undefined : job?.slots.get(coalesceKey);
      if (job !== undefined && slotIndex !== undefined) {
        job.bytes += size - job.sizes[slotIndex]!;
        job.events[slotIndex] = event;
        job.sizes[slotIndex] = size;
        return;
      }
      if (job !== undefined && !hasRoom(job.events.length, job.bytes, size)) send(event.job_id);
      job = pending.get(event.job_id);
      if (job === undefined) {
        job = { events: [], sizes: [], bytes: 0, slots: new Map() };
        pending.set(event.job_id, job);
      }
      if (coalesceKey !== undefined) job.slots.set(coalesceKey, job.events.length);
      job.events.push(event);
      job.sizes.push(size);
      job.bytes += size;
      waiting++;
      if (!hasRoom(job.events.length, job.bytes, 0)) send(event.job_id);
      else timer ??= setTimeout(sendAll, options.lingerMs);
    },
    async flush() {
      do {
        sendAll();
        await Promise.all([...inFlight]);
      } while (pending.size > 0 || inFlight.size > 0);
      if (failures.length > 0) throw new HeadwayDeliveryError(failures.splice(0));
    },
    get waiting() {
      return waiting;
    },
  };
}
