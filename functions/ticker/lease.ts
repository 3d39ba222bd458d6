/**
 * The ticker's hold on the shared lease: overlapping runs (a minute's invocation that outlives the
 * next one's start, two containers) take turns, so exactly one of them ticks at a time. The owner
 * is this ticker's id (one per Lambda container); every tick takes the lease again for LEASE_MS,
 * which is longer than any tick, and a ticker that dies lets it lapse.
 */
import { randomUUID } from "node:crypto";
import type { Lease } from "../../core/ports.ts";

const LEASE_MS = 15_000;

export interface TickerLease {
  /** This ticker's id: in every log line of its ticks. */
  owner: string;
  /** Takes or renews the lease; false while another ticker holds it. */
  take(): Promise<boolean>;
  release(): Promise<void>;
}

export function createTickerLease(lease: Lease): TickerLease {
  const owner = randomUUID();
  return {
    owner,
    take: () => lease.acquire(owner, LEASE_MS),
    release: () => lease.release(owner),
  };
}
