/**
 * Input refused in users' words: zod's issues turned into the fields they name
 * (`events[3].progress[1]`) and messages a person reads ("required", "must be a whole number, not
 * 1.5"), unknown keys with the known key they resemble, and the edit distance that finds it.
 * contract/events.ts installs `describeIssue` as zod's error map for every schema of the product.
 */
import type { z } from "zod";
import { HeadwayError, type FieldIssue } from "../errors.ts";

const PLAIN_KEY = /^[A-Za-z0-9_:$-][A-Za-z0-9_.:$-]{0,63}$/;

/** A key as a person can read it in a message: as is when plain, else quoted and cut (it may hold anything). */
export function shownKey(key: string): string {
  return PLAIN_KEY.test(key) ? key : JSON.stringify(key.length > 64 ? `${key.slice(0, 64)}…` : key);
}

export function fieldPath(path: readonly PropertyKey[]): string {
  let text = "";
  for (const part of path) {
    if (typeof part === "number") text += `[${part}]`;
    else {
      const key = shownKey(String(part));
      text += key.startsWith('"') ? `[${key}]` : text === "" ? key : `.${key}`;
    }
  }
  return text;
}

export function issuesOf(error: z.core.$ZodError, prefix: readonly PropertyKey[] = []): FieldIssue[] {
  const issues: FieldIssue[] = [];
  for (const issue of error.issues) {
    // A union reports why each branch failed; the branch that came closest is the one to show.
    if (issue.code === "invalid_union" && issue.errors.length > 0 && !unionSaysItAll(issue as RawIssue)) {
      const best = issue.errors.reduce((a, b) => (b.length < a.length ? b : a));
      for (const inner of best) issues.push({ field: fieldPath([...prefix, ...issue.path, ...inner.path]), message: inner.message });
      continue;
    }
    // One field per unknown key (the message, from unknownKeyError, holds one sentence per key).
    if (issue.code === "unrecognized_keys") {
      const sentences = issue.message.split(UNKNOWN_KEY_SEPARATOR);
      if (sentences.length === issue.keys.length) {
        issue.keys.forEach((key, index) => issues.push({ field: fieldPath([...prefix, ...issue.path, key]), message: sentences[index]! }));
        continue;
      }
    }
    issues.push({ field: fieldPath([...prefix, ...issue.path]), message: issue.message });
  }
  return issues;
}

// ---------------------------------------------------------------- messages in users' words

/** The raw issue zod hands to an error map (the fields of its issue types that the messages read). */
interface RawIssue {
  code?: string;
  input?: unknown;
  expected?: string;
  values?: readonly unknown[];
  origin?: string;
  minimum?: number | bigint;
  maximum?: number | bigint;
  inclusive?: boolean;
  discriminator?: string;
  options?: readonly unknown[];
  errors?: readonly (readonly RawIssue[])[];
  path?: readonly PropertyKey[];
}

const NOUNS: Record<string, string> = {
  string: "a string",
  number: "a number",
  int: "a whole number",
  boolean: "true or false",
  array: "a list",
  tuple: "a list",
  object: "an object",
  record: "an object",
  null: "null",
};

function kindOf(input: unknown): string {
  if (input === null) return "null";
  if (Array.isArray(input)) return "a list";
  if (typeof input === "object") return "an object";
  if (typeof input === "number" && !Number.isInteger(input)) return `${input}`;
  return `${typeof input === "string" ? "the string" : typeof input === "boolean" ? "" : "the number"} ${JSON.stringify(input)}`.trim();
}

const shown = (value: unknown) => (typeof value === "string" ? JSON.stringify(value) : String(value));

function choices(values: readonly unknown[]): string {
  return values.length === 1 ? shown(values[0]) : `one of ${values.map(shown).join(", ")}`;
}

/** What one failed branch of a union asked for, when it failed on the value itself (not deeper). */
function branchWanted(branch: readonly RawIssue[]): string | null {
  if (branch.length !== 1 || (branch[0]!.path?.length ?? 0) > 0) return null;
  const issue = branch[0]!;
  if (issue.code === "invalid_type") return NOUNS[issue.expected ?? ""] ?? null;
  if (issue.code === "invalid_value" && issue.values !== undefined) return issue.values.map(shown).join(" or ");
  return null;
}

/**
 * zod's error map for every schema of the product (contract/events.ts installs it): a message in users'
 * words where zod's own would be the validator's ("required", not "expected string, received
 * undefined"; the allowed values named). A message a schema sets itself always wins over this.
 */
export function describeIssue(issue: RawIssue): string | undefined {
  switch (issue.code) {
    case "invalid_type": {
      if (issue.input === undefined) return "required";
      const wanted = NOUNS[issue.expected ?? ""];
      return wanted === undefined ? undefined : `must be ${wanted}, not ${kindOf(issue.input)}`;
    }
    case "invalid_value":
      if (issue.values === undefined) return undefined;
      return issue.input === undefined ? `required: ${choices(issue.values)}` : `must be ${choices(issue.values)}, not ${shown(issue.input)}`;
    case "too_small": {
      const bound = issue.minimum;
      if (issue.origin === "array") return `must have at least ${bound} item${Number(bound) === 1 ? "" : "s"}`;
      if (issue.origin === "string") return Number(bound) === 1 ? "must not be empty" : `must be at least ${bound} characters`;
      if (issue.origin === "number") return `must be ${issue.inclusive === false ? "more than" : "at least"} ${bound}`;
      return undefined;
    }
    case "too_big": {
      const bound = issue.maximum;
      if (issue.origin === "array") return `must have at most ${bound} item${Number(bound) === 1 ? "" : "s"}`;
      if (issue.origin === "string") return `must be at most ${bound} characters`;
      if (issue.origin === "number") return `must be ${issue.inclusive === false ? "less than" : "at most"} ${bound}`;
      return undefined;
    }
    case "invalid_union": {
      if (issue.discriminator !== undefined && issue.options !== undefined) {
        const given = (issue.input as Record<string, unknown> | undefined)?.[issue.discriminator];
        return given === undefined ? `required: ${choices(issue.options)}` : `unknown ${issue.discriminator} ${shown(given)}: must be ${choices(issue.options)}`;
      }
      const wanted = issue.errors?.map(branchWanted);
      if (wanted === undefined || wanted.length === 0 || wanted.some((entry) => entry === null)) return undefined;
      return issue.input === undefined ? "required" : `must be ${wanted.join(" or ")}, not ${kindOf(issue.input)}`;
    }
    default:
      return undefined;
  }
}

/** Whether a union's issue already says, on its own, what each of its branches wanted (see describeIssue). */
function unionSaysItAll(issue: RawIssue): boolean {
  return issue.errors !== undefined && issue.errors.length > 0 && issue.errors.every((branch) => branchWanted(branch) !== null);
}

export function describeIssues(issues: readonly FieldIssue[]): string {
  return issues.map((issue) => (issue.field === "" ? issue.message : `${issue.field}: ${issue.message}`)).join("; ");
}

export function invalidInput(error: z.core.$ZodError, prefix: readonly PropertyKey[] = []): HeadwayError {
  const issues = issuesOf(error, prefix);
  return new HeadwayError("invalid_input", describeIssues(issues), { issues });
}

// ---------------------------------------------------------------- unknown keys

const UNKNOWN_KEY_SEPARATOR = "; ";

/**
 * The error map of a strict object: each unknown key in a sentence of its own, with the closest
 * known key suggested (`unknown key results_per_inpt: did you mean results_per_input?`).
 */
export function unknownKeyError(knownKeys: readonly string[]): (issue: { code?: string; keys?: string[] }) => string | undefined {
  return (issue) => {
    if (issue.code !== "unrecognized_keys" || issue.keys === undefined) return undefined;
    return issue.keys
      .map((key) => {
        const suggestion = closestKey(key, knownKeys);
        return `unknown key ${shownKey(key)}${suggestion === null ? ` (known keys: ${knownKeys.join(", ")})` : `: did you mean ${suggestion}?`}`;
      })
      .join(UNKNOWN_KEY_SEPARATOR);
  };
}

/** The known key closest to `key`, if it is close enough to be a typo of it. */
export function closestKey(key: string, knownKeys: readonly string[]): string | null {
  if (key.length > 64) return null;
  const limit = Math.max(1, Math.min(3, Math.floor(key.length / 3)));
  let best: string | null = null;
  let bestDistance = limit + 1;
  for (const known of knownKeys) {
    const distance = editDistance(key.toLowerCase(), known);
    if (distance < bestDistance) {
      best = known;
      bestDistance = distance;
    }
  }
  return best;
}

/**
 * Optimal string alignment distance (Levenshtein plus adjacent transpositions), hand-written
 * rather than a dependency: keys are short and this runs only on input that is already refused.
 */
export function editDistance(a: string, b: string): number {
  const rows = a.length + 1;
  const cols = b.length + 1;
  const d: number[] = new Array(rows * cols).fill(0);
  for (let i = 0; i < rows; i++) d[i * cols] = i;
  for (let j = 0; j < cols; j++) d[j] = j;
  for (let i = 1; i < rows; i++) {
    for (let j = 1; j < cols; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(d[(i - 1) * cols + j]! + 1, d[i * cols + j - 1]! + 1, d[(i - 1) * cols + j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) best = Math.min(best, d[(i - 2) * cols + j - 2]! + 1);
      d[i * cols + j] = best;
    }
  }
  return d[rows * cols - 1]!;
}
