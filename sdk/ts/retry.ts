/**
 * Retries with exponential backoff and full jitter (AWS's "Exponential Backoff And Jitter"): the
 * n-th wait is uniform in [0, min(maxDelayMs, baseDelayMs · 2^(n−1))], or the server's
 * `Retry-After` when it asks for longer. Only failures marked retryable are retried.
 */
import { HeadwayUnavailableError } from "./errors.ts";

export interface RetryPolicy {
  /** Tries in all, the first included (default 8). */
  attempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { attempts: 8, baseDelayMs: 100, maxDelayMs: 10_000 };

/** A failure worth trying again (429, 5xx, a network error or a timeout). */
export class Retryable extends Error {
  readonly retryAfterMs: number | null;

  constructor(cause: unknown, retryAfterMs: number | null = null) {
    super(cause instanceof Error ? cause.message : String(cause), { cause });
    this.name = "Retryable";
    this.retryAfterMs = retryAfterMs;
  }
}

export function backoffMs(policy: RetryPolicy, failedTries: number, random: () => number, retryAfterMs: number | null): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (failedTries - 1));
  const jittered = random() * ceiling;
  return retryAfterMs === null ? jittered : Math.max(jittered, Math.min(retryAfterMs, policy.maxDelayMs));
}

/**
 * Runs `attempt` until it succeeds, throws something other than `Retryable`, or the policy's tries
 * run out (then HeadwayUnavailableError with the last failure as cause).
 */
export async function withRetries<T>(what: string, policy: RetryPolicy, attempt: (tryNumber: number) => Promise<T>, random: () => number = Math.random): Promise<T> {
  for (let tryNumber = 1; ; tryNumber++) {
    try {
      return await attempt(tryNumber);
    } catch (error) {
      if (!(error instanceof Retryable)) throw error;
      if (tryNumber >= policy.attempts) throw new HeadwayUnavailableError(what, tryNumber, error.cause);
      await new Promise((resolve) => setTimeout(resolve, backoffMs(policy, tryNumber, random, error.retryAfterMs)));
    }
  }
}

/** `Retry-After` in seconds or as an HTTP date, in milliseconds from now. */
export function retryAfterMsOf(header: string | null, nowMs: number): number | null {
  if (header === null) return null;
  const seconds = Number(header);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const at = Date.parse(header);
  return Number.isNaN(at) ? null : Math.max(0, at - nowMs);
}
