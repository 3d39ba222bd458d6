/** Why an input was refused: one vocabulary for ingest, the estimator, the reducer and the API. */
import type { Event } from "./contract.ts";

export const REJECTION_CODES = [
  "oversized",
  "invalid_json",
  "invalid_event",
  "unknown_job",
  "wrong_job",
  "too_many_labels",
  "too_many_indicator_events",
  "unknown_step",
  "conflicting_original",
] as const;
export type RejectionCode = (typeof REJECTION_CODES)[number];

/** Codes of events that were applied all the same: the producer is told, nothing is lost. */
const NOTICE_CODES: ReadonlySet<RejectionCode> = new Set(["unknown_step"]);

export function isNotice(code: RejectionCode): boolean {
  return NOTICE_CODES.has(code);
}

/** A valid event that the estimator refused, or applied with a notice (`unknown_step`). */
export interface Rejection {
  event: Event;
  code: RejectionCode;
  message: string;
}
