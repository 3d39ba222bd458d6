/** What a producer reads when input is refused: the field, and what is wrong in plain words. */
import { describe, expect, it } from "vitest";
import { CreateJobRequest } from "../core/contract/http.ts";
import { invalidInput } from "../core/contract/issues.ts";
import { parseMessageBody } from "../core/contract/ingest.ts";

const base = { v: 1, job_id: "j", event_id: "e", at: "2026-12-06T10:00:00Z" };
const refusal = (event: Record<string, unknown>) => parseMessageBody(JSON.stringify(event)).rejections[0]?.fields;

describe("validation messages", () => {
  it("say a missing field is required", () => {
    const { event_id: _, ...withoutId } = { ...base, type: "step.started", step: "s", attempt: 1 };
    expect(refusal(withoutId)).toEqual([{ field: "event_id", message: "required" }]);
  });

  it("name the allowed values, the one string a number field also takes included", () => {
    expect(refusal({ ...base, type: "job.declared", expect_originals: "2" })).toEqual([{ field: "expect_originals", message: 'must be a number or "unknown", not the string "2"' }]);
    expect(refusal({ ...base, type: "original.added", original_id: "f", source: "uploaded" })).toEqual([{ field: "source", message: 'must be one of "upload", "import", not "uploaded"' }]);
    expect(refusal({ ...base, type: "job.declared", plan: { steps: { a: { robot: "/x", results_per_input: "lots" } } } })).toEqual([
      { field: "plan.steps.a.results_per_input", message: 'must be a number or "unpredictable", not the string "lots"' },
    ]);
    expect(refusal({ ...base, v: 2, type: "job.completed" })).toEqual([{ field: "v", message: "must be 1, not 2" }]);
  });

  it("say which types exist for an unknown or missing event type", () => {
    const [unknown] = refusal({ ...base, type: "step.frobbed" })!;
    expect(unknown).toMatchObject({ field: "type", message: expect.stringMatching(/^unknown type "step.frobbed": must be one of "job.declared", .*"job.cancelled"$/) });
    const [missing] = refusal({ ...base })!;
    expect(missing).toMatchObject({ field: "type", message: expect.stringMatching(/^required: one of "job.declared", /) });
  });

  it("say what kind of value was expected and what came, and the bounds of lists and numbers", () => {
    expect(refusal({ ...base, type: "indicator.done", task_id: "t", attempt: "1", amount: 1 })).toEqual([{ field: "attempt", message: 'must be a number, not the string "1"' }]);
    expect(refusal({ ...base, type: "step.progress", step: "s", attempt: 1, progress: [1] })).toEqual([{ field: "progress", message: "must have at least 2 items" }]);
    expect(refusal({ ...base, type: "step.progress", step: "s", attempt: 1, progress: [-1, 2] })).toEqual([{ field: "progress[0]", message: "must be at least 0" }]);
    const body = CreateJobRequest.safeParse({ emit_execution_progress: "yes" });
    expect(invalidInput(body.error!).issues).toEqual([{ field: "emit_execution_progress", message: 'must be true or false, not the string "yes"' }]);
  });

  it("keep a schema's own message where it has one", () => {
    expect(refusal({ ...base, type: "step.started", step: "bad step!", attempt: 1 })).toEqual([{ field: "step", message: "must be 1–128 characters of [A-Za-z0-9._:-]" }]);
  });
});
