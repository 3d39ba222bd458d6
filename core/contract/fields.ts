/**
 * What every message of the wire contract is made of: the limits, ids, times, MIME types and
 * labels, as zod 4 schemas with one regex each (each zod check costs about as much as the regex
 * itself, and validation is the bulk of ingest time: bench/estimator.ts). Installs the error map
 * that words every schema's messages for users (contract/issues.ts).
 */
import { z } from "zod";
import { describeIssue, unknownKeyError } from "./issues.ts";

// Every schema's messages in users' words, unless the schema says its own.
z.config({ customError: describeIssue });

export const LIMITS = {
  idChars: 128,
  labelChars: 100,
  eventsPerEnvelope: 500,
  stepsPerPlan: 200,
  /**
   * A plan's steps as JSON (UTF-8), robot parameters included: the plan lives in the job's head
   * item, which DynamoDB caps at 400 KB with everything else in it.
   */
  planBytes: 64 * 1024,
  labelsPerJob: 1_000,
  /**
   * Event ids of indicator.added/done remembered per task attempt (each counts once); the next
   * delta of that attempt is rejected as `too_many_indicator_events`: send `indicator.reported`.
   */
  eventIdsPerTaskAttempt: 1_000,
  messageChars: 2_000,
  errorChars: 4_000,
  /** Results of one execution (`result_count`, and a step's `results_per_input`). */
  resultsPerExecution: 1_000_000,
  /** Executions a plan may predict for one step of one original file (fan-out multiplied along the DAG). */
  fanOutPerOriginal: 1_000_000_000,
  /** Indicator amounts, each. */
  amount: 1e12,
  /** The numbers of `step.progress` (bytes, items…): 2^53 − 1, so sums stay exact. */
  progressValue: Number.MAX_SAFE_INTEGER,
} as const;

/**
 * An object that refuses keys it does not declare, naming each with the closest known key
 * (`unknown key results_per_inpt: did you mean results_per_input?`), so that typos are refused
 * instead of silently ignored.
 */
export function strict<Shape extends z.core.$ZodLooseShape>(shape: Shape) {
  return z.strictObject(shape, { error: unknownKeyError(Object.keys(shape)) });
}

/**
 * Free text without control characters (C0, DEL, C1) or unpaired surrogates: such text ends up in
 * storage keys joined with U+0000 (labels) or in names a person must read (robots, units, MIME).
 * One regex, not several checks: each zod check costs about as much as the regex itself.
 */
export const printablePattern = (min: number, max: number) =>
  new RegExp(`^(?:[^\\u0000-\\u001f\\u007f-\\u009f\\ud800-\\udfff]|[\\ud800-\\udbff][\\udc00-\\udfff]){${min},${max}}$`);
export const printable = (min: number, max: number, what: string) =>
  z.string().regex(printablePattern(min, max), `must be ${what}: ${min === 0 ? "at most " : `${min}–`}${max} characters, no control characters`);

// One regex per field rather than min/max/regex checks: each zod check costs as much as the
// regex itself, and validation is the bulk of ingest time (bench/estimator.ts).
// The patterns are exported for core/contract/event-fast-path.ts, which validates the everyday events
// without zod and must accept exactly what these schemas accept (test/event-fast-path.property.test.ts).
export const ID_PATTERN = /^[A-Za-z0-9._:-]{1,128}$/;
export const TIMESTAMP_PATTERN =
  /^\d{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12]\d|3[01])T(?:[01]\d|2[0-3]):[0-5]\d:[0-5]\d(?:\.\d{1,9})?(?:Z|[+-](?:[01]\d|2[0-3]):[0-5]\d)$/;
export const MIME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}\/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}$/;

export const Id = z.string().regex(ID_PATTERN, "must be 1–128 characters of [A-Za-z0-9._:-]");
/** ISO-8601 date-time with seconds and a zone (Z or ±hh:mm), as z.iso.datetime({offset: true}) takes it. */
export const Timestamp = z.string().regex(TIMESTAMP_PATTERN, "must be an ISO-8601 date-time with a zone, e.g. 2026-11-22T10:00:00.000Z");

export const Attempt = z.int().min(0).max(1_000_000);
/** z.int() is a safe integer: 1e400 (Infinity), 1e20 and 1.5 are all refused. */
export const Count = z.int().min(0);
export const ResultCount = z.int().min(0).max(LIMITS.resultsPerExecution);
// RFC 6838 type and subtype names (no parameters): nothing a key or a log line could trip on.
export const Mime = z.string().regex(MIME_PATTERN, "must be a MIME type such as video/mp4");
export const MimePattern = z
  .string()
  .regex(/^(?:\*|[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126})\/(?:\*|[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126})$/, "must be a MIME pattern such as video/*");
export const Label = printable(0, LIMITS.labelChars, "a label").nullable();
