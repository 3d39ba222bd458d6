/**
 * Time to finish from a smoothed work rate.
 *
 * Method: at each commit the job's done fraction f (done work / predicted work) is observed at
 * time t. The instantaneous rate between two observations, (f − f₀)/(t − t₀), is folded into an
 * exponential moving average whose weight depends on the elapsed time, not on the number of
 * observations: rate ← α·rate + (1 − α)·instant with α = 0.1^(Δt / 15 s), as Rust's indicatif
 * does. A burst of reports a few milliseconds apart therefore moves the average as much as one
 * report covering the same interval. ETA = (1 − f) / rate, in whole seconds rounded up; null
 * until two observations exist or while the rate is not positive; 0 once finished.
 * Percentages never depend on this (they must be reproducible from the event log); the ETA
 * depends on when progress was observed, so it is one of the documented order-sensitive values.
 */
import type { EtaState } from "./state.ts";

const HALF_LIFE_BASE = 0.1;
const WINDOW_SECONDS = 15;

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
    const keep = HALF_LIFE_BASE ** (elapsedSeconds / WINDOW_SECONDS);
    eta.rate = eta.rate === null ? instant : keep * eta.rate + (1 - keep) * instant;
  }
  if (eta.lastMs === null || nowMs > eta.lastMs) {
    eta.lastMs = nowMs;
    eta.lastFraction = fraction;
  }
  eta.seconds = eta.rate !== null && eta.rate > 0 ? Math.ceil((1 - fraction) / eta.rate) : null;
}
