/**
 * Real Assembly Instructions (test/fixtures/transloadit/*.json, each kept as its source has it,
 * with its source and the reading of Transloadit's robot docs beside it in *.expected.json) are
 * accepted verbatim as a plan, and predicted as those docs say: per step, the executions the job
 * will go through for a few originals, and whether the estimate is available yet.
 */
import { readdirSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { CreateJobRequest } from "../core/contract/http.ts";
import { Event } from "../core/contract/events.ts";
import { Plan } from "../core/contract/plan.ts";
import { eventFactory } from "./support/events.ts";
import { snapshotOf } from "./support/fold.ts";

const DIRECTORY = new URL("./fixtures/transloadit/", import.meta.url);

interface Case {
  originals: { original_id: string; mime: string; field?: string }[];
  imports?: { step: string; results: { result_id: string; original_id?: string; mime?: string }[] }[];
  steps: Record<string, number | null>;
  combined: "available" | "unavailable";
}

interface Expected {
  instructions: string;
  source: string;
  reading: Record<string, string>;
  cases: Case[];
}

const fixtures = readdirSync(DIRECTORY)
  .filter((name) => name.endsWith(".expected.json"))
  .map((name) => JSON.parse(readFileSync(new URL(name, DIRECTORY), "utf8")) as Expected);

function instructionsOf(expected: Expected): unknown {
  return JSON.parse(readFileSync(new URL(expected.instructions, DIRECTORY), "utf8"));
}

describe("Transloadit's Assembly Instructions, verbatim", () => {
  it("has at least ten real instruction sets, each with its source and a reading for every step it predicts", () => {
    expect(fixtures.length).toBeGreaterThanOrEqual(10);
    for (const expected of fixtures) {
      expect(expected.source.length).toBeGreaterThan(20);
      for (const step of Object.keys(expected.cases[0]!.steps)) expect(expected.reading[step], `${expected.instructions}: ${step}`).toBeTypeOf("string");
    }
  });

  describe.each(fixtures.map((expected) => [expected.instructions, expected] as const))("%s", (_name, expected) => {
    const instructions = instructionsOf(expected);

    it("is accepted as a plan, as POST /v1/jobs and as a job.declared event", () => {
      expect(Plan.safeParse(instructions).error?.issues ?? []).toEqual([]);
      expect(CreateJobRequest.safeParse({ plan: instructions }).success).toBe(true);
      const declared = { v: 1, type: "job.declared", job_id: "j", event_id: "e", at: "2026-11-22T10:00:00Z", plan: instructions };
      expect(Event.safeParse(declared).success).toBe(true);
    });

    it.each(expected.cases.map((testCase, index) => [index, testCase] as const))("predicts case %i as Transloadit's docs say", (_index, testCase) => {
      const e = eventFactory();
      const plan = Plan.parse(instructions);
      const events: Event[] = [e.plan(plan.steps, testCase.originals.length > 0 ? { expect_originals: testCase.originals.length } : {})];
      for (const original of testCase.originals) events.push(e.original(original.original_id, original.mime, original.field === undefined ? {} : { field: original.field }));
      for (const imported of testCase.imports ?? []) events.push(e.completed(imported.step, undefined, { results: imported.results, result_count: undefined }));
      const snapshot = snapshotOf(events, { detail: true });
      const predicted = Object.fromEntries(snapshot.detail!.steps.map((step) => [step.step, step.predicted]));
      expect(predicted).toEqual(testCase.steps);
      expect(snapshot.progress_combined === null ? "unavailable" : "available").toBe(testCase.combined);
    });
  });
});
