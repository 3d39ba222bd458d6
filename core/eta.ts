/**
 * Time to finish from a smoothed work rate. Pure: the clock comes in as `nowMs` (the commit time),
 * nothing here reads one.
 *
 * Method: at each commit the job's done fraction f (done work / predicted work) is observed at
 * time t. The instantaneous rate between two observations, (f − f₀)/(t − t₀), is folded into an
 * exponential moving average whose weight depends on the elapsed time, not on the number of
 * observations: rate ← α·rate + (1 − α)·instant with α = 0.1^(Δt / 15 s), as Rust's indicatif
 * does. A burst of reports a few milliseconds apart therefore moves the average as much as one
 * report covering the same interval. ETA = (1 − f) / rate, in whole seconds rounded up; 0 once
 * finished. Percentages never depend on this (they must be reproducible from the event log); the
 * ETA depends on when progress was observed, so it is one of the documented order-sensitive values.
 *
 * The ETA is `null` — "no rate to trust" — rather than a number nobody should believe, when:
 * - the fraction is unavailable;
 * - the rate rests on fewer than MIN_SAMPLES observations at which the fraction grew, or on less
 *   than MIN_EVIDENCE_MS of observation (one report at 40 % then silence is not a rate);
 * - nothing grew for STALE_MS (or for STALE_GAPS times the usual gap between growths, if
 *   longer): an EMA fed only zeros decays towards 0 without reaching it, which is how a job with
 *   one report at 40 % and another event three minutes later once showed 1,523,532,462,621 s;
 * - the smoothed rate is not positive (retries or newly found work outweigh recent progress);
 * - the result exceeds MAX_ELAPSED_FACTOR times the time observed so far, or MAX_SECONDS.
 * Accuracy on simulated jobs is measured by `npm run bench -- eta` (docs/estimation.md, "ETA").
 */
import type { EtaState } from "./state.ts";

const DECAY_BASE = 0.1;
const WINDOW_SECONDS = 15;
export const MIN_SAMPLES = 2;
export const MIN_EVIDENCE_MS = 10_000;
export const STALE_MS = 60_000;
const STALE_GAPS = 4;
export const MAX_ELAPSED_FACTOR = 100;
export const MAX_SECONDS = 30 * 24 * 3600;

export function updateEta(eta: EtaState, nowMs: number, fraction: number | null, isFinished: boolean): void {
  if (isFinished) {
    eta.seconds = 0;
    eta.lastMs = nowMs;
    eta.lastFraction = 1;
    return;
  }
  if (fraction === null) {
    eta.seconds = null;
    return;
  }
  if (eta.lastMs !== null && nowMs > eta.lastMs) {
    const elapsedSeconds = (nowMs - eta.lastMs) / 1000;
    const instant = (fraction - eta.lastFraction) / elapsedSeconds;
    const keep = DECAY_BASE ** (elapsedSeconds / WINDOW_SECONDS);
    eta.rate = eta.rate === null ? instant : keep * eta.rate + (1 - keep) * instant;
    if (fraction > eta.lastFraction) {
      eta.samples++;
      eta.grewMs = nowMs;
    }
  }
  if (eta.lastMs === null || nowMs > eta.lastMs) {
    eta.lastMs = nowMs;
    eta.lastFraction = fraction;
  }
  eta.firstMs ??= nowMs;
  eta.seconds = trustedSeconds(eta, nowMs, fraction);
}

function trustedSeconds(eta: EtaState, nowMs: number, fraction: number): number | null {
  const { rate, firstMs, grewMs, samples } = eta;
  if (rate === null || firstMs === null || grewMs === null || samples < MIN_SAMPLES) return null;
  const evidenceMs = nowMs - firstMs;
  if (evidenceMs < MIN_EVIDENCE_MS) return null;
  const usualGapMs = (grewMs - firstMs) / samples;
  if (nowMs - grewMs > Math.max(STALE_MS, STALE_GAPS * usualGapMs)) return null;
  if (!(rate > 0)) return null;
  // At least 1 while unfinished: 0 means finished (a fraction can reach 1 before the work is done).
  const seconds = Math.max(1, Math.ceil((1 - fraction) / rate));
  if (!Number.isFinite(seconds) || seconds > MAX_SECONDS || seconds > (MAX_ELAPSED_FACTOR * evidenceMs) / 1000) return null;
  return seconds;
}

/** The stored form of an EtaState (a tuple: the head item is written on every batch). Older 4-tuples decode too. */
export type EtaCode = [number | null, number, number | null, number | null, (number | null)?, (number | null)?, number?];

export function encodeEta(eta: EtaState): EtaCode {
  return [eta.lastMs, eta.lastFraction, eta.rate, eta.seconds, eta.firstMs, eta.grewMs, eta.samples];
}

export function decodeEta(code: EtaCode): EtaState {
  const [lastMs, lastFraction, rate, seconds, firstMs = null, grewMs = null, samples = 0] = code;
  return { lastMs, lastFraction, rate, seconds, firstMs, grewMs, samples };
}
