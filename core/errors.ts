/**
 * One error vocabulary for the product, at the ground of core/: every code any path emits (an HTTP
 * error body, a WebSocket `error` frame, an SSE `event: error`, a recorded rejection, a log line),
 * and the error that carries one. It imports nothing. What a code looks like on each wire (HTTP
 * status, the WebSocket's code) is the shells' concern: functions/errors.ts maps every code here,
 * and the compiler refuses a code it does not map.
 */

/**
 * The one vocabulary for refused input. Every place that refuses an event or a request body — queue
 * ingest, the estimator, the reducer's recorded rejections, `headway replay`, HTTP error bodies and
 * WebSocket `error` frames — names the refusal with one of these codes and a message that names the
 * field (contract/rejection.ts).
 */
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

/** Codes about access, state and the service itself (refused input uses REJECTION_CODES). */
export const OTHER_ERROR_CODES = [
  /** No credential, or one that is not valid (an unknown API key, a bad token, the wrong admin token). */
  "unauthorized",
  /** A valid credential that does not cover what it asked for (a token for other jobs). */
  "forbidden",
  /** An API key without the scope the route needs. */
  "missing_scope",
  /** An API key sent in a URL (`?token=`), where only subscriber tokens go. */
  "api_key_in_url",
  /** A subscriber token past its expiry (also what closes a stream or a connection whose token lapsed). */
  "token_expired",
  /** A subscriber token whose API key was revoked. */
  "key_revoked",
  /** Revoking a key that was revoked already (HTTP says `key_revoked` with 409: see functions/errors.ts). */
  "key_already_revoked",
  /** No route for this method and path. */
  "not_found",
  /** No such job for this tenant (the WebSocket says `not_found`: see functions/errors.ts). */
  "job_not_found",
  /** `POST /v1/jobs` with an id a job of the tenant already has. */
  "job_exists",
  /** A WebSocket frame from a connection that is not registered (it should reconnect). */
  "unknown_connection",
  /** A conditional write lost a race (reload and apply again). */
  "store_conflict",
  /** A write of the job is in progress: a snapshot never mixes two versions. */
  "job_busy",
  /** The credential or the tenant has as many update streams open as allowed. */
  "too_many_streams",
  "tenant_not_found",
  "tenant_exists",
  "key_not_found",
  /** A key prefix that several keys of the tenant share. */
  "ambiguous_key",
  /** A queue message whose `tenant` attribute is not a tenant name (logged and counted: no tenant's log can keep it). */
  "invalid_tenant",
  /** A failure of the service itself (a bug, or a dependency down): HTTP 500. */
  "internal",
] as const;

export const ERROR_CODES = [...REJECTION_CODES, ...OTHER_ERROR_CODES] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

export interface FieldIssue {
  /** The offending field as a path, e.g. `events[3].progress[1]`; empty for the whole input. */
  field: string;
  message: string;
}

/** An expected failure with its code: the shells answer it as functions/errors.ts maps the code. */
export class HeadwayError extends Error {
  readonly code: ErrorCode;
  readonly issues: FieldIssue[];

  constructor(code: ErrorCode, message: string, options: { issues?: FieldIssue[]; cause?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.name = "HeadwayError";
    this.code = code;
    this.issues = options.issues ?? [];
  }
}

/** A write would store an item DynamoDB refuses (over 400 KB): nothing was written; the events that grow it must be refused. */
export class ItemTooLarge extends HeadwayError {
  constructor(item: string, bytes: number) {
    super("item_too_large", `item ${item} would be ${bytes} bytes, more than a DynamoDB item holds`);
    this.name = "ItemTooLarge";
  }
}

/** A conditional write lost a race: reload and apply again. */
export class StoreConflict extends HeadwayError {
  constructor(item: string, options: { cause?: unknown } = {}) {
    super("store_conflict", `item ${item} changed since it was loaded`, options);
    this.name = "StoreConflict";
  }
}
