/**
 * A refusal of input as a value: its code (core/errors.ts REJECTION_CODES), a message that names
 * the field, the fields, and what an operator needs to find it again. The queue's ingest, the
 * estimator, `headway replay` and HTTP ingest all refuse with one of these; the HTTP API answers it
 * as the error `rejectionError` makes.
 */
import { HeadwayError, type FieldIssue, type RejectionCode } from "../errors.ts";
import type { Event } from "./events.ts";

export interface Rejection {
  code: RejectionCode;
  /** What a producer can act on, naming the field where there is one: `events[3].attempt: …`. */
  message: string;
  /** The offending fields, when the input was read far enough to name them. */
  fields?: readonly FieldIssue[];
  /** The job the input names, when one can be read from it (null: none could be). */
  jobId?: string | null;
  /** The start of the refused input, for an operator to read. */
  excerpt?: string;
  /** The refused event, when it passed the contract and a rule of the job refused it. */
  event?: Event;
}

/** Codes of events that were applied all the same: the producer is told, nothing is lost. */
const NOTICE_CODES: ReadonlySet<RejectionCode> = new Set(["unknown_step"]);

export function isNotice(code: RejectionCode): boolean {
  return NOTICE_CODES.has(code);
}

/** A refusal of an event that passed the contract but not the job's rules (the estimator's). */
export type EventRejection = Rejection & { event: Event };

const EXCERPT_CHARS = 500;

export function excerptOf(text: string): string {
  return text.length <= EXCERPT_CHARS ? text : text.slice(0, EXCERPT_CHARS);
}

/** The error a request answers with when its input is refused: the rejection's code, message and fields. */
export function rejectionError(rejection: Rejection): HeadwayError {
  return new HeadwayError(rejection.code, rejection.message, { issues: [...(rejection.fields ?? [])] });
}
