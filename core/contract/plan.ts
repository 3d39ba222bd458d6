/**
 * A job's plan on the wire (docs/events.md, "Plans"): Transloadit's Assembly Instructions as users
 * already write them — `steps`, or the whole instructions object, or a bare map of steps — with
 * Headway's own keys checked for typos and every robot parameter kept. The step graph is checked
 * by core/instructions/plan-graph.ts; the estimator compiles the plan (core/estimator/plan.ts).
 */
import { z } from "zod";
import { validatePlanGraph } from "../instructions/plan-graph.ts";
import { TRANSLOADIT_PARAMETERS } from "../instructions/parameters.ts";
import { Id, LIMITS, Mime, MimePattern, printable, ResultCount } from "./fields.ts";
import { closestKey, shownKey } from "./issues.ts";

/** Headway's own keys of a step; any other key is a robot parameter (kept, read only where core/instructions/catalogue.ts says). */
const HEADWAY_STEP_KEYS = ["robot", "use", "accepts", "results_per_input", "output_mime", "weight", "per"];

const BundleFlag = z.union([z.boolean(), z.enum(["true", "false"])]);
const FieldNames = z.union([printable(0, 200, "a form field name"), z.array(printable(0, 200, "a form field name")).max(100)]);
/** One entry of a `use` list: a step name, or `{name, as, fields}` (Transloadit's roles and form-field filter). */
const UseEntry = z.union([Id, z.looseObject({ name: Id, as: printable(0, 200, "a role").optional(), fields: FieldNames.optional() })]);
const UseList = z.array(UseEntry).min(1).max(LIMITS.stepsPerPlan);
/** `use` in every form Transloadit takes: a name, a list, or `{steps, bundle_steps, group_by_original, fields}`. */
export const Use = z.union([
  Id,
  UseList,
  z.looseObject({ steps: z.union([Id, UseList]), bundle_steps: BundleFlag.optional(), group_by_original: BundleFlag.optional(), fields: FieldNames.optional() }),
]);

/** /file/filter's `accepts`: Transloadit's conditions, `[[value, operator, value], …]`, a JavaScript `${…}` string, or null. */
const FilterConditions = z.union([z.null(), z.string().max(10_000), z.array(z.array(z.unknown()).max(10)).max(100)]);

const FILTER_ROBOT = "/file/filter";

/** Robot parameters are any JSON, bounded so that a stored plan round-trips exactly and is walked without recursion limits. */
const PARAMETER_DEPTH = 32;

function parameterProblem(value: unknown): string | null {
  const pending: [unknown, number][] = [[value, 0]];
  while (pending.length > 0) {
    const [item, depth] = pending.pop()!;
    if (typeof item === "number" && !Number.isFinite(item)) return "numbers must be finite";
    if (typeof item !== "object" || item === null) continue;
    if (depth >= PARAMETER_DEPTH) return `nests deeper than ${PARAMETER_DEPTH} levels`;
    for (const inner of Array.isArray(item) ? item : Object.values(item)) pending.push([inner, depth + 1]);
  }
  return null;
}

/**
 * One step: Headway's keys, and the robot's own parameters, accepted as sent (Transloadit's
 * Assembly Instructions verbatim). A key that resembles one of Headway's keys and is none of
 * Transloadit's parameters is refused as a likely typo, naming the key it resembles.
 */
export const PlanStep = z
  .looseObject({
    robot: printable(1, 200, "a robot name"),
    use: Use.optional(),
    accepts: z.union([z.array(MimePattern).max(50), FilterConditions]).optional(),
    results_per_input: z.union([ResultCount, z.literal("unpredictable")]).optional(),
    output_mime: Mime.optional(),
    weight: z.number().positive().max(1_000_000).optional(),
    per: z.enum(["job", "input"]).optional(),
  })
  .superRefine(
    (step, ctx) => {
      for (const [key, value] of Object.entries(step)) {
        if (HEADWAY_STEP_KEYS.includes(key)) continue;
        const suggestion = TRANSLOADIT_PARAMETERS.has(key) ? null : closestKey(key, HEADWAY_STEP_KEYS);
        if (suggestion !== null) ctx.addIssue({ code: "custom", path: [key], message: `unknown key ${shownKey(key)}: did you mean ${suggestion}?` });
        const problem = parameterProblem(value);
        if (problem !== null) ctx.addIssue({ code: "custom", path: [key], message: `robot parameter ${problem}` });
      }
      const { accepts, robot } = step as { accepts?: unknown; robot?: unknown };
      if (accepts === undefined || typeof robot !== "string") return;
      const isPatterns = Array.isArray(accepts) && accepts.every((item) => typeof item === "string");
      if (robot === FILTER_ROBOT && isPatterns && accepts.length > 0) {
        ctx.addIssue({ code: "custom", path: ["accepts"], message: 'on /file/filter, accepts holds conditions such as [["${file.mime}", "regex", "image"]], not MIME patterns' });
      } else if (robot !== FILTER_ROBOT && !isPatterns) {
        ctx.addIssue({ code: "custom", path: ["accepts"], message: "must be MIME patterns such as video/* (conditions are /file/filter's)" });
      }
    },
    { when: () => true },
  );
export type PlanStep = z.infer<typeof PlanStep>;

/**
 * A plan takes the steps as Transloadit's Assembly Instructions do: `{"steps": {...}}`, the whole
 * instructions object (its other keys, `auth`, `template_id`, `fields`, `notify_url`, …, are
 * accepted and not kept), or a bare map of steps (every value an object with a `robot`).
 */
function asInstructions(value: unknown, ctx: { addIssue: (issue: { code: "custom"; path: string[]; message: string; input: unknown }) => void }): unknown {
  if (typeof value !== "object" || value === null || Array.isArray(value) || Object.hasOwn(value, "steps")) return value;
  const entries = Object.values(value);
  const isBareSteps = entries.length > 0 && entries.every((entry) => typeof entry === "object" && entry !== null && Object.hasOwn(entry, "robot"));
  if (isBareSteps) return { steps: value };
  for (const key of Object.keys(value)) {
    if (closestKey(key, ["steps"]) !== null) ctx.addIssue({ code: "custom", path: [key], message: `unknown key ${shownKey(key)}: did you mean steps?`, input: value });
  }
  return value;
}

/** The UTF-8 bytes of a value as JSON (robot parameters are bounded in depth before it is called). */
export function jsonBytes(value: unknown): number {
  return new TextEncoder().encode(JSON.stringify(value)).length;
}

export const Plan = z.preprocess(
  asInstructions,
  z
    .object({
      steps: z.record(Id, PlanStep).refine((steps) => Object.keys(steps).length <= LIMITS.stepsPerPlan, {
        message: `a plan has at most ${LIMITS.stepsPerPlan} steps`,
      }),
    })
    .superRefine((plan, ctx) => {
      const bytes = jsonBytes(plan.steps);
      if (bytes > LIMITS.planBytes) {
        ctx.addIssue({ code: "custom", path: ["steps"], message: `the steps take ${bytes} bytes as JSON; a plan takes at most ${LIMITS.planBytes}` });
        return;
      }
      for (const problem of validatePlanGraph(plan.steps, LIMITS.fanOutPerOriginal)) {
        ctx.addIssue({ code: "custom", path: ["steps", ...problem.path], message: problem.message });
      }
    }),
);
export type Plan = z.infer<typeof Plan>;
