/**
 * One error taxonomy for the product. The core names what went wrong (kind, code, the offending
 * fields); the shells map kinds to HTTP statuses, WebSocket `error` events or SQS rejections.
 */
import type { z } from "zod";

export type ErrorKind = "invalid_input" | "not_found" | "unauthorized" | "conflict" | "too_large" | "unavailable";

export interface FieldIssue {
  /** The offending field as a path, e.g. `events[3].progress[1]`; empty for the whole input. */
  field: string;
  message: string;
}

export class HeadwayError extends Error {
  readonly kind: ErrorKind;
  readonly code: string;
  readonly issues: FieldIssue[];

  constructor(kind: ErrorKind, code: string, message: string, options: { issues?: FieldIssue[]; cause?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.name = "HeadwayError";
    this.kind = kind;
    this.code = code;
    this.issues = options.issues ?? [];
  }
}

export function fieldPath(path: readonly PropertyKey[]): string {
  let text = "";
  for (const part of path) {
    if (typeof part === "number") text += `[${part}]`;
    else text += text === "" ? String(part) : `.${String(part)}`;
  }
  return text;
}

export function issuesOf(error: z.core.$ZodError, prefix: readonly PropertyKey[] = []): FieldIssue[] {
  const issues: FieldIssue[] = [];
  for (const issue of error.issues) {
    // A union reports why each branch failed; the branch that matched the `type` is the one to show.
    if (issue.code === "invalid_union" && issue.errors.length > 0) {
      const best = issue.errors.reduce((a, b) => (b.length < a.length ? b : a));
      for (const inner of best) issues.push({ field: fieldPath([...prefix, ...issue.path, ...inner.path]), message: inner.message });
      continue;
    }
    issues.push({ field: fieldPath([...prefix, ...issue.path]), message: issue.message });
  }
  return issues;
}

export function describeIssues(issues: readonly FieldIssue[]): string {
  return issues.map((issue) => (issue.field === "" ? issue.message : `${issue.field}: ${issue.message}`)).join("; ");
}

export function invalidInput(error: z.core.$ZodError, prefix: readonly PropertyKey[] = []): HeadwayError {
  const issues = issuesOf(error, prefix);
  return new HeadwayError("invalid_input", "invalid_input", describeIssues(issues), { issues });
}

/** A conditional write lost a race: reload and apply again. */
export class StoreConflict extends HeadwayError {
  constructor(item: string, options: { cause?: unknown } = {}) {
    super("conflict", "store_conflict", `item ${item} changed since it was loaded`, options);
    this.name = "StoreConflict";
  }
}
