/**
 * The one vocabulary for refused input. Every place that refuses an event or a request body — queue
 * ingest, the estimator, the reducer's recorded rejections, `headway replay`, HTTP error bodies and
 * WebSocket `error` frames — names the refusal with one of these codes and a message that names the
 * field. HTTP statuses do not live here: functions/ maps codes to them.
 */
import type { Event } from "./events.ts";
import type { FieldIssue } from "../errors.ts";

export const REJECTION_CODES = [
  /** A message or request body over its byte limit. */
  "oversized",
  /** Not JSON at all. */
  "invalid_json",
  /** An event (or an envelope of events) that breaks the contract: a field, a limit, an unknown key. */
  "invalid_event",
  /** Any other input that breaks the contract: a `POST /v1/jobs` or `POST /v1/tokens` body, a WebSocket frame. */
  "invalid_input",
  /** An event whose `job_id` is not the job it was sent to (another job of its envelope, or the URL's job). */
  "wrong_job",
  /** Events of a job never declared within the bound the reducer waits for. */
  "unknown_job",
  /** A step event naming a step the job's plan lacks. */
  "unknown_step",
  /** A step report naming an original other than the one an earlier report of the same execution named. */
  "conflicting_original",
  /** The 1,001st indicator label of a job. */
  "too_many_labels",
  /** More indicator events of one task attempt than the estimator remembers ids of (send `indicator.reported`). */
  "too_many_indicator_events",
  /**
   * An event that would grow one stored record past what a DynamoDB item holds (400 KB): one
   * file's executions, a job part summarized in a full head. The record keeps what it had.
   */
  "item_too_large",
] as const;

export type RejectionCode = (typeof REJECTION_CODES)[number];

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

export function isRejectionCode(code: string): code is RejectionCode {
  return (REJECTION_CODES as readonly string[]).includes(code);
}

const EXCERPT_CHARS = 500;

export function excerptOf(text: string): string {
  return text.length <= EXCERPT_CHARS ? text : text.slice(0, EXCERPT_CHARS);
}
