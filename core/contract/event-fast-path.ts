/**
 * The fast path of event validation: the everyday events (step reports, indicators, originals,
 * terminal events) checked by hand, without zod, because validation cost more than JSON.parse
 * itself and ingest must keep within half the speed of JSON.parse (docs/performance.md).
 *
 * It may only ever say "valid" or "ask zod": `fastEvent` returns the event when it is valid under
 * events.ts's `Event`, and `undefined` for anything invalid, unusual or not handled here
 * (`job.declared`, `results` lists, keys set to `undefined`, objects not made by JSON.parse), so
 * that zod decides and names the field exactly as it always has. It must never accept what
 * `Event` refuses: test/event-fast-path.property.test.ts holds it to that, near misses included.
 *
 * A valid event is returned as it is, not copied: its keys are exactly the declared ones, in the
 * producer's order.
 */
import { ID_PATTERN, LIMITS, MIME_PATTERN, printablePattern, TIMESTAMP_PATTERN } from "./fields.ts";
import { type Event, type EventType } from "./events.ts";

/** `[A-Za-z0-9._:-]`, indexed by char code (codes past 127 read as undefined: not an id char). */
const ID_CHARS = new Uint8Array(128);
for (const range of ["AZ", "az", "09", "..", "__", "::", "--"]) {
  for (let code = range.charCodeAt(0); code <= range.charCodeAt(1); code++) ID_CHARS[code] = 1;
}

/**
 * Exactly `ID_PATTERN` (1–128 characters of `[A-Za-z0-9._:-]`), a third faster than the regex
 * for the short ids events carry. (Timestamps keep their regex: V8's compiled regex beat every
 * hand-written check of them that was tried.)
 */
export function isId(text: string): boolean {
  const length = text.length;
  if (length === 0 || length > LIMITS.idChars) return false;
  for (let i = 0; i < length; i++) if (ID_CHARS[text.charCodeAt(i)] !== 1) return false;
  return true;
}

const UNIT_PATTERN = printablePattern(1, 40);
const LABEL_PATTERN = printablePattern(0, LIMITS.labelChars);

/**
 * `printablePattern(min, max)`: printable ASCII is checked by hand (its length is its count of
 * characters); anything else goes to the pattern itself.
 */
function isPrintable(text: string, min: number, max: number, pattern: RegExp): boolean {
  const length = text.length;
  for (let i = 0; i < length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x20 || code > 0x7e) return pattern.test(text);
  }
  return length >= min && length <= max;
}

// Each field check below answers how many keys the field accounts for: 1 when present and
// valid, 0 when absent, FAIL when present and invalid (or when only zod can tell). The sums are
// compared with the object's own key count, so an unknown key (or a key set to undefined) sends
// the event to zod.
const FAIL = -1_000;

const isIdValue = (value: unknown): boolean => typeof value === "string" && isId(value);
const isInt = (value: unknown, min: number, max: number): boolean => typeof value === "number" && Number.isSafeInteger(value) && value >= min && value <= max;
const isNumber = (value: unknown, min: number, max: number): boolean => typeof value === "number" && value >= min && value <= max;
/** Up to `max` characters: a string no longer in UTF-16 units is surely no longer in code points, as zod counts. */
const isShortText = (value: unknown, min: number, max: number): boolean => typeof value === "string" && value.length >= min && value.length <= max;

const required = (isValid: boolean): number => (isValid ? 1 : FAIL);
const optionalId = (value: unknown): number => (value === undefined ? 0 : required(isIdValue(value)));

function executionKeys(event: Record<string, unknown>): number {
  return required(isIdValue(event.step)) + optionalId(event.input_id) + optionalId(event.original_id) + required(isInt(event.attempt, 0, 1_000_000));
}

function progressKeys(event: Record<string, unknown>): number {
  const progress = event.progress;
  if (!Array.isArray(progress) || progress.length !== 2) return FAIL;
  const total = progress[1];
  if (!isNumber(progress[0], 0, LIMITS.progressValue) || (total !== null && !isNumber(total, 0, LIMITS.progressValue))) return FAIL;
  let keys = 1;
  const unit = event.unit;
  if (unit !== undefined) keys += required(typeof unit === "string" && isPrintable(unit, 1, 40, UNIT_PATTERN));
  const stepIndex = event.step_index;
  if (stepIndex !== undefined) {
    if (!Array.isArray(stepIndex) || stepIndex.length !== 2) return FAIL;
    const index: unknown = stepIndex[0];
    const count: unknown = stepIndex[1];
    keys += required(isInt(index, 0, Number.MAX_SAFE_INTEGER) && isInt(count, 1, Number.MAX_SAFE_INTEGER) && (index as number) < (count as number));
  }
  if (event.message !== undefined) keys += required(isShortText(event.message, 0, LIMITS.messageChars));
  return keys;
}

function indicatorKeys(event: Record<string, unknown>): number {
  const label = event.label;
  const labelKeys = label === undefined ? 0 : required(label === null || (typeof label === "string" && isPrintable(label, 0, LIMITS.labelChars, LABEL_PATTERN)));
  return labelKeys + required(isIdValue(event.task_id)) + required(isInt(event.attempt, 0, 1_000_000));
}

/**
 * Event types the fast path never vouches for: zod decides them all (a declaration carries a plan,
 * too rich to check by hand and rare on the hot path). Every other type of `Event` is handled below;
 * test/event-fast-path.property.test.ts holds the two to the union, type by type.
 */
export const LEFT_TO_ZOD: ReadonlySet<EventType> = new Set<EventType>(["job.declared"]);

/** The keys of the event's own fields (beyond v, type, job_id, event_id, at), or less than 0. */
function ownKeys(event: Record<string, unknown>): number {
  // Typed as the union's types so that the switch must name each (a new one is a compile error
  // below); at run time anything else reaches the default, unknown types included.
  const type = event.type as EventType;
  switch (type) {
    case "step.progress":
      return executionKeys(event) + progressKeys(event);
    case "step.started":
      return executionKeys(event);
    case "step.completed":
      // `results` (a list of result objects) and a missing `result_count` are left to zod.
      return event.results === undefined ? executionKeys(event) + required(isInt(event.result_count, 0, LIMITS.resultsPerExecution)) : FAIL;
    case "step.failed":
      return executionKeys(event) + required(isShortText(event.error, 1, LIMITS.errorChars)) + required(typeof event.will_retry === "boolean");
    case "original.added": {
      const { mime, source } = event;
      return (
        required(isIdValue(event.original_id)) +
        (mime === undefined ? 0 : required(typeof mime === "string" && MIME_PATTERN.test(mime))) +
        (source === undefined ? 0 : required(source === "upload" || source === "import"))
      );
    }
    case "originals.sealed":
      return event.count === undefined ? 0 : required(isInt(event.count, 0, 10_000_000));
    case "indicator.added":
    case "indicator.done":
      return indicatorKeys(event) + required(isNumber(event.amount, 0, LIMITS.amount));
    case "indicator.reported":
      return indicatorKeys(event) + required(isNumber(event.added, 0, 1e15)) + required(isNumber(event.done, 0, 1e15));
    case "job.completed":
    case "job.failed":
    case "job.cancelled":
      return event.error === undefined ? 0 : required(isShortText(event.error, 0, LIMITS.errorChars));
    case "job.declared": // LEFT_TO_ZOD
      return FAIL;
    default: {
      const _unhandled: never = type;
      return FAIL; // unknown types
    }
  }
}

/** The event, when the fast path can vouch that `Event` accepts it; else undefined (ask zod). */
export function fastEvent(value: unknown): Event | undefined {
  // Objects of JSON.parse only: no other prototype, so `for…in` sees exactly the own keys.
  if (typeof value !== "object" || value === null || Object.getPrototypeOf(value) !== Object.prototype) return undefined;
  const event = value as Record<string, unknown>;
  if (event.v !== 1 || !isIdValue(event.job_id) || !isIdValue(event.event_id) || typeof event.at !== "string" || !TIMESTAMP_PATTERN.test(event.at)) return undefined;
  const declared = ownKeys(event);
  if (declared < 0) return undefined;
  let keys = 0;
  for (const _key in event) keys++;
  return keys === declared + 5 ? (event as unknown as Event) : undefined;
}
