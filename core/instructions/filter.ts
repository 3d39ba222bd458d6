/**
 * Transloadit's /file/filter conditions, evaluated before a file reaches the step where they read
 * only what is known of it then: its MIME type (`${file.mime}`), the type Transloadit files it
 * under (`${file.type}`) and its extension (`${file.ext}`, from the MIME type). A condition that
 * reads anything else (size, metadata, fields, JavaScript) has no verdict: the step's count for
 * that file stays unknown until the step completes. Pure; `regex` runs on RE2 (linear time), the
 * engine Transloadit names for it.
 *
 * Semantics (Transloadit's /file/filter docs): `accepts` passes a file that matches at least one
 * condition (all of them with `condition_type: "and"`), `null` or absent passes every file, an
 * empty list none; `declines` refuses a file that matches at least one (all with "and"), `null`
 * or empty refuses none; with both, `accepts` is evaluated first.
 */
import { RE2JS } from "re2js";
import type { FilterRule } from "./catalogue.ts";

/** A verdict: passes, does not pass, or cannot be told before the step runs. */
export type Verdict = boolean | null;

type Value = string | number | null | Value[];

/** What is known of a file before a step runs, as candidate values (a MIME type may have several extensions). */
interface Known {
  mime: string[];
  type: string[];
  ext: string[];
}

const OPERATORS = new Set(["=", "==", "===", "<", ">", "<=", ">=", "!=", "!==", "regex", "!regex", "includes", "!includes", "empty", "!empty"]);

/** A whole-value variable this module can resolve; anything else that interpolates is unknown. */
const KNOWN_VARIABLE = /^\$\{\s*file\.(mime|type|ext)\s*\}$/;

/** The filter's verdict on a file of this MIME type (`null` when the type itself is not known). */
export function filterVerdict(rule: FilterRule, mime: string | null): Verdict {
  const known = mime === null ? null : knownOf(mime);
  const accepted = rule.accepts === undefined || rule.accepts === null ? true : anyOrAll(rule.accepts, rule.isAnd, known);
  if (accepted === false) return false;
  const declined = rule.declines === undefined || rule.declines === null ? false : anyOrAll(rule.declines, rule.isAnd, known);
  if (declined === true) return false;
  if (accepted === null || declined === null) return null;
  return true;
}

/** Conditions in the list form, each `[value, operator, value]`; anything else (JavaScript `${…}`) has no verdict. */
function anyOrAll(conditions: unknown, isAnd: boolean, known: Known | null): Verdict {
  if (!Array.isArray(conditions)) return null;
  // An empty accepts list accepts nothing; an empty declines list declines nothing: no match either way.
  if (conditions.length === 0) return false;
  let isUnknown = false;
  for (const condition of conditions) {
    const verdict = evaluate(condition, known);
    if (verdict === null) {
      isUnknown = true;
      continue;
    }
    if (isAnd && !verdict) return false;
    if (!isAnd && verdict) return true;
  }
  return isUnknown ? null : isAnd;
}

function evaluate(condition: unknown, known: Known | null): Verdict {
  if (!Array.isArray(condition) || condition.length !== 3 || typeof condition[1] !== "string" || !OPERATORS.has(condition[1])) return null;
  const left = candidates(condition[0], known);
  const right = candidates(condition[2], known);
  if (left === null || right === null) return null;
  let verdict: Verdict | undefined;
  for (const a of left) {
    for (const b of right) {
      const one = compare(a, condition[1], b);
      if (one === null || (verdict !== undefined && one !== verdict)) return null;
      verdict = one;
    }
  }
  return verdict ?? null;
}

/** The values an operand may take, or null when it reads something not known before the step. */
function candidates(operand: unknown, known: Known | null): Value[] | null {
  if (typeof operand === "string") {
    if (!operand.includes("${")) return [operand];
    const variable = KNOWN_VARIABLE.exec(operand);
    if (variable === null || known === null) return null;
    const values = known[variable[1] as keyof Known];
    return values.length === 0 ? null : values;
  }
  if (typeof operand === "number" || operand === null) return [operand];
  if (Array.isArray(operand) && operand.every((item) => typeof item === "number" || item === null || (typeof item === "string" && !item.includes("${")))) return [operand as Value[]];
  return null;
}

function compare(a: Value, operator: string, b: Value): Verdict {
  switch (operator) {
    case "=":
    case "==":
      return looseEquals(a, b);
    case "!=":
      return !looseEquals(a, b);
    case "===":
      return strictEquals(a, b);
    case "!==":
      return !strictEquals(a, b);
    case "<":
    case ">":
    case "<=":
    case ">=":
      return order(a, operator, b);
    case "regex":
    case "!regex": {
      if (typeof a !== "string" && typeof a !== "number") return null;
      if (typeof b !== "string") return null;
      const matched = matches(String(a), b);
      return matched === null ? null : operator === "regex" ? matched : !matched;
    }
    case "includes":
    case "!includes": {
      let included: boolean;
      if (Array.isArray(a)) included = a.some((item) => looseEquals(item, b));
      else if (typeof a === "string" && (typeof b === "string" || typeof b === "number")) included = a.includes(String(b));
      else return null;
      return operator === "includes" ? included : !included;
    }
    case "empty":
    case "!empty": {
      const isEmpty = a === null || a === "" || a === 0 || (Array.isArray(a) && a.length === 0);
      return operator === "empty" ? isEmpty : !isEmpty;
    }
    default:
      return null;
  }
}

function looseEquals(a: Value, b: Value): boolean {
  if (Array.isArray(a) || Array.isArray(b)) return false;
  if (a === null || b === null) return a === b;
  if (typeof a === typeof b) return a === b;
  return Number(a) === Number(b); // a number and a string, as JavaScript's == compares them
}

function strictEquals(a: Value, b: Value): boolean {
  return !Array.isArray(a) && !Array.isArray(b) && a === b;
}

const BYTE_UNITS: Record<string, number> = { b: 1, kb: 1024, kib: 1024, mb: 1024 ** 2, mib: 1024 ** 2, gb: 1024 ** 3, gib: 1024 ** 3, tb: 1024 ** 4, tib: 1024 ** 4, pb: 1024 ** 5, pib: 1024 ** 5 };

/** A number, or a human-readable byte size ("20mb": binary multipliers, as the filter reads them). */
function numberOf(value: Value): number | null {
  if (typeof value === "number") return value;
  if (typeof value !== "string") return null;
  const size = /^\s*(\d+(?:\.\d+)?)\s*([a-z]+)\s*$/i.exec(value);
  if (size !== null) {
    const unit = BYTE_UNITS[size[2]!.toLowerCase()];
    return unit === undefined ? null : Number(size[1]) * unit;
  }
  const number = value.trim() === "" ? Number.NaN : Number(value);
  return Number.isFinite(number) ? number : null;
}

function order(a: Value, operator: string, b: Value): Verdict {
  const x = numberOf(a);
  const y = numberOf(b);
  if (x === null || y === null) {
    if (typeof a !== "string" || typeof b !== "string") return null;
    return operator === "<" ? a < b : operator === ">" ? a > b : operator === "<=" ? a <= b : a >= b;
  }
  return operator === "<" ? x < y : operator === ">" ? x > y : operator === "<=" ? x <= y : x >= y;
}

/** Case-insensitive RE2 search, as the filter's `regex` is; null when RE2 refuses the pattern. */
function matches(value: string, pattern: string): boolean | null {
  try {
    return RE2JS.compile(pattern, RE2JS.CASE_INSENSITIVE).matcher(value).find();
  } catch {
    return null;
  }
}

/**
 * Extensions a file of a MIME type may carry, for `${file.ext}`: a type not listed here has no
 * known extension (a condition on it has no verdict).
 */
const EXTENSIONS: Record<string, string[]> = {
  "image/jpeg": ["jpg", "jpeg"],
  "image/png": ["png"],
  "image/gif": ["gif"],
  "image/webp": ["webp"],
  "image/avif": ["avif"],
  "image/heic": ["heic"],
  "image/heif": ["heif"],
  "image/svg+xml": ["svg"],
  "image/tiff": ["tif", "tiff"],
  "image/bmp": ["bmp"],
  "video/mp4": ["mp4"],
  "video/quicktime": ["mov"],
  "video/webm": ["webm"],
  "video/x-matroska": ["mkv"],
  "video/x-msvideo": ["avi"],
  "video/mpeg": ["mpeg", "mpg"],
  "video/ogg": ["ogv"],
  "audio/mpeg": ["mp3"],
  "audio/wav": ["wav"],
  "audio/x-wav": ["wav"],
  "audio/ogg": ["ogg", "oga"],
  "audio/flac": ["flac"],
  "audio/aac": ["aac"],
  "audio/mp4": ["m4a"],
  "application/pdf": ["pdf"],
  "application/zip": ["zip"],
  "application/json": ["json"],
  "text/plain": ["txt"],
  "text/csv": ["csv"],
  "text/html": ["html", "htm"],
};

/** `${file.type}` as Transloadit files media: known here for images, videos and audio only. */
const MEDIA_TYPES = new Set(["image", "video", "audio"]);

function knownOf(mime: string): Known {
  const lower = mime.toLowerCase();
  const top = lower.slice(0, lower.indexOf("/"));
  return { mime: [mime], type: MEDIA_TYPES.has(top) ? [top] : [], ext: EXTENSIONS[lower] ?? [] };
}
