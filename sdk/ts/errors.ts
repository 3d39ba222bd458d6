/**
 * The SDK's errors: one base class, subclasses for what a caller handles differently. A refusal
 * by the API (a 4xx other than 429) is never retried and carries the API's `error.fields`; running
 * out of retries keeps the last failure as `cause`.
 */
import type { Event } from "../../core/contract/events.ts";
import type { FieldIssue } from "../../core/errors.ts";

export class HeadwaySdkError extends Error {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** The API refused a request (HTTP 4xx other than 429): sending it again would not help. */
export class HeadwayApiError extends HeadwaySdkError {
  readonly status: number;
  /** The API's error code, e.g. `invalid_event`, `job_not_found`, `job_exists`. */
  readonly code: string;
  /** The offending fields, as the API names them (`events[3].progress[1]`). */
  readonly fields: FieldIssue[];
  readonly requestId: string | null;

  constructor(status: number, body: { code: string; message: string; fields?: FieldIssue[] | undefined; request_id?: string | undefined }) {
    super(`Headway API ${status} ${body.code}: ${body.message}`);
    this.status = status;
    this.code = body.code;
    this.fields = body.fields ?? [];
    this.requestId = body.request_id ?? null;
  }
}

/** An event the SDK was asked to send breaks the contract (thrown at the call, before anything is queued). */
export class HeadwayInvalidEventError extends HeadwaySdkError {
  readonly code: string;
  readonly fields: FieldIssue[];

  constructor(code: string, message: string, fields: FieldIssue[]) {
    super(message);
    this.code = code;
    this.fields = fields;
  }
}

/** Every retry of a request failed with 429, 5xx or a network error (the last one is `cause`). */
export class HeadwayUnavailableError extends HeadwaySdkError {
  readonly attempts: number;

  constructor(what: string, attempts: number, cause: unknown) {
    super(`${what} failed after ${attempts} attempt(s): ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    this.attempts = attempts;
  }
}

/** A report was made after `close()`. */
export class HeadwayClosedError extends HeadwaySdkError {}

/** One batch of events that could not be delivered, with the events themselves (so a caller can keep them). */
export interface DeliveryFailure {
  jobId: string;
  events: Event[];
  error: Error;
}

/** Thrown by `flush()` and `close()` when events sent in the background since the last flush were lost. */
export class HeadwayDeliveryError extends HeadwaySdkError {
  readonly failures: DeliveryFailure[];

  constructor(failures: DeliveryFailure[]) {
    const lost = failures.reduce((sum, failure) => sum + failure.events.length, 0);
    super(`${lost} event(s) of ${new Set(failures.map((f) => f.jobId)).size} job(s) could not be delivered: ${failures[0]?.error.message ?? ""}`, { cause: failures[0]?.error });
    this.failures = failures;
  }
}
