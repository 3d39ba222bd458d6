/**
 * Event validation at ingest speed. Zod stays the single source of every wire type: at module load
 * each event type's zod schema is turned into JSON Schema (`z.toJSONSchema`) and compiled with
 * ajv into a fast check. `validateEvent` answers exactly what `Event.safeParse` answers:
 * - the fast check accepts only what the zod schema accepts unchanged (unknown keys fail it,
 *   since zod would strip them), so its `data` is the input itself;
 * - anything the fast check refuses goes to `Event.safeParse`, which decides and, when it refuses,
 *   writes the error that names the field — so messages are zod's, whatever path an event took.
 * What JSON Schema cannot say is never skipped: a type's own refinements (`step_index` i < n,
 * `result_count` against `results`) run on every fast-accepted event of that type, and a type
 * whose refinements sit deeper (the plan graph inside `job.declared`), that uses a string format
 * (URLs), rewrites values (trim) or cannot be said in JSON Schema at all is validated by zod alone:
 * field rules written as regexes and bounds keep the fast path, a `.refine` on a field gives it up.
 * test/validate.property.test.ts checks the equivalence on generated valid and invalid events.
 * Pure: no I/O, no clock.
 */
import { Ajv2020 } from "ajv/dist/2020.js";
import { z } from "zod";
import { Event } from "./contract.ts";

type FastCheck = (value: object) => boolean;

interface RegExpLike {
  test(text: string): boolean;
  toString(): string;
}

const CHARACTER_RUN = /^\^\[((?:[^\]\\]|\\.)+)\](?:\{(\d+),(\d+)\}|(\+))\$$/;

/**
 * ajv's regular-expression engine. A pattern that is one character class repeated, anchored at
 * both ends (`^[A-Za-z0-9._:-]{1,128}$`: every id), is tested by a lookup table over UTF-16 code
 * units, several times faster than the RegExp and answering the same: the table is filled by
 * asking the class's own RegExp about each of the first 256 code units, and any other unit is put
 * to that RegExp when met (no `u` flag, so a RegExp too sees code units). Every other pattern is a
 * plain RegExp.
 */
function patternEngine(pattern: string, flags: string): RegExpLike {
  const regExp = new RegExp(pattern, flags);
  const run = flags === "" ? CHARACTER_RUN.exec(pattern) : null;
  if (run === null) return regExp;
  const oneOf = new RegExp(`^[${run[1]}]$`);
  const allowed = new Uint8Array(256);
  for (let unit = 0; unit < allowed.length; unit++) allowed[unit] = oneOf.test(String.fromCharCode(unit)) ? 1 : 0;
  const min = run[4] === "+" ? 1 : Number(run[2]);
  const max = run[4] === "+" ? Infinity : Number(run[3]);
  return {
    test(text) {
      const length = text.length;
      if (length < min || length > max) return false;
      for (let i = 0; i < length; i++) {
        const unit = text.charCodeAt(i);
        if (unit < 256 ? allowed[unit] === 0 : !oneOf.test(text[i]!)) return false;
      }
      return true;
    },
    toString: () => regExp.toString(),
  };
}

const ajv = new Ajv2020({
  allErrors: false,
  strict: true,
  // The schemas come from zod, not from outside: checking them against the meta-schema would
  // cost most of the module's load time (a Lambda cold start) and catch nothing.
  validateSchema: false,
  // The same semantics as zod's own checks: regexes without the u flag, no NaN/Infinity. String
  // lengths are in code points in both (ajv's default; zod 4 counts code points too).
  unicodeRegExp: false,
  strictNumbers: true,
  code: { regExp: Object.assign(patternEngine, { code: "patternEngine" }) },
});

/**
 * The fast check of one zod schema, or why it has none: JSON Schema from zod, compiled by ajv,
 * followed by the schema's own refinements. A schema with refinements deeper inside, or with a
 * string format (whose exact rules are zod's, e.g. URLs), has none: zod alone validates it.
 */
function fastCheckOf(schema: z.ZodType): { check: FastCheck } | { reason: string } {
  let nestedRefinements = 0;
  let rewrites = 0;
  const formats: string[] = [];
  let structure: FastCheck;
  try {
    const json = z.toJSONSchema(schema, {
      io: "output",
      unrepresentable: "throw",
      override: ({ zodSchema, jsonSchema }) => {
        const checks = zodSchema._zod.def.checks ?? [];
        if ((zodSchema as unknown) !== schema && checks.some((check) => check._zod.def.check === "custom")) nestedRefinements++;
        // trim(), toLowerCase(), normalize(): zod's output differs from its input, so the input cannot stand for it.
        if (checks.some((check) => check._zod.def.check === "overwrite")) rewrites++;
        if (typeof jsonSchema.format === "string") formats.push(jsonSchema.format);
      },
    });
    if (nestedRefinements > 0) return { reason: "refinements inside nested values" };
    if (rewrites > 0) return { reason: "checks that rewrite the value" };
    if (formats.length > 0) return { reason: `string formats (${formats.join(", ")})` };
    structure = ajv.compile(json);
  } catch (error) {
    // A transform, a preprocess or anything else JSON Schema (or ajv) cannot take: zod alone, still correct.
    return { reason: `not expressible in JSON Schema: ${(error as Error).message}` };
  }
  const ownChecks = (schema._zod.def.checks ?? []) as unknown as readonly z.core.$ZodCheck<unknown>[];
  if (ownChecks.length === 0) return { check: structure };
  return { check: (value) => structure(value) && passesChecks(ownChecks, value) };
}

/** How each event type is checked fast; a type missing here (or unknown) goes to zod alone. */
const fastChecks = new Map<string, FastCheck>();
/** Why a type is validated by zod alone, for the README and tests. */
export const zodOnlyTypes = new Map<string, string>();

for (const option of Event.options) {
  const types = option._zod.propValues?.type;
  const type = types?.size === 1 ? [...types][0] : undefined;
  if (typeof type !== "string") throw new Error("every event schema has one literal `type`");
  const compiled = fastCheckOf(option);
  if ("reason" in compiled) zodOnlyTypes.set(type, compiled.reason);
  else fastChecks.set(type, compiled.check);
}

/** `schema.safeParse`, answered by its compiled check whenever it can: for envelopes and other plain schemas. */
export function compileSafeParse<T extends z.ZodType>(schema: T): (value: unknown) => z.ZodSafeParseResult<z.output<T>> {
  const compiled = fastCheckOf(schema);
  if ("reason" in compiled) return (value) => schema.safeParse(value);
  const { check } = compiled;
  return (value) => (typeof value === "object" && value !== null && check(value) ? { success: true, data: value as z.output<T> } : schema.safeParse(value));
}

/**
 * Runs a schema's own checks (its refinements) on a value whose shape already passed, the way
 * zod's parse runs them after the shape (`runChecks`): true when none of them raised an issue.
 * An async check cannot be answered here, so it sends the value to zod.
 */
function passesChecks(checks: readonly z.core.$ZodCheck<unknown>[], value: unknown): boolean {
  const payload: z.core.ParsePayload<unknown> = { value, issues: [] };
  for (const check of checks) {
    const when = check._zod.def.when;
    if (when !== undefined && !when(payload)) continue;
    if (check._zod.check(payload) instanceof Promise || payload.issues.length > 0) return false;
  }
  return true;
}

/** `Event.safeParse`, answered by the compiled check whenever it can (see the module header). */
export function validateEvent(value: unknown): z.ZodSafeParseResult<Event> {
  if (typeof value === "object" && value !== null) {
    const type = (value as { type?: unknown }).type;
    const check = typeof type === "string" ? fastChecks.get(type) : undefined;
    if (check !== undefined && check(value)) return { success: true, data: value as Event };
  }
  return Event.safeParse(value);
}
