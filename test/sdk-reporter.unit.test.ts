/**
 * The reporter's semantics, from the table of cases the Python SDK's tests run too
 * (sdk/fixtures/reporter-cases.json): the two SDKs cannot drift apart without one of them failing.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { createReporter, type ProgressDetail } from "../sdk/ts/reporter.ts";

interface Call {
  at?: number;
  advance_to?: number;
  report?: [number, number | null];
  unit?: string;
  step_index?: [number, number];
  message?: string;
  refused?: boolean;
  flush?: boolean;
  close?: boolean;
  cancel?: boolean;
}

interface SentValue {
  at: number;
  sent_at: number;
  progress: [number, number | null];
  unit?: string;
  step_index?: [number, number];
  message?: string;
}

interface Case {
  name: string;
  options: { update_interval_ms?: number; update_step?: number };
  calls: Call[];
  sent: SentValue[];
}

const table = JSON.parse(readFileSync(join(import.meta.dirname, "..", "sdk", "fixtures", "reporter-cases.json"), "utf8")) as { v: 1; cases: Case[] };

/** Runs one case on an injected clock (vitest's fake timers: Date.now and setTimeout), returning what went out. */
function run(testCase: Case): SentValue[] {
  const sent: SentValue[] = [];
  const reporter = createReporter(
    { ...(testCase.options.update_interval_ms === undefined ? {} : { updateIntervalMs: testCase.options.update_interval_ms }), ...(testCase.options.update_step === undefined ? {} : { updateStep: testCase.options.update_step }) },
    {
      now: () => Date.now(),
      send: (current, total, detail, atMs) =>
        sent.push({
          at: atMs,
          sent_at: Date.now(),
          progress: [current, total],
          ...(detail.unit === undefined ? {} : { unit: detail.unit }),
          ...(detail.stepIndex === undefined ? {} : { step_index: detail.stepIndex }),
          ...(detail.message === undefined ? {} : { message: detail.message }),
        }),
      onHeld: () => {},
    },
  );
  for (const call of testCase.calls) {
    // Timers due by the call's time fire first, each at its own time.
    vi.advanceTimersByTime((call.advance_to ?? call.at!) - Date.now());
    if (call.report !== undefined) {
      const detail: ProgressDetail = {
        ...(call.unit === undefined ? {} : { unit: call.unit }),
        ...(call.step_index === undefined ? {} : { stepIndex: call.step_index }),
        ...(call.message === undefined ? {} : { message: call.message }),
      };
      const report = () => reporter.report(call.report![0], call.report![1], detail);
      if (call.refused === true) expect(report).toThrow();
      else report();
    }
    if (call.flush === true) reporter.flush();
    if (call.close === true) reporter.close();
    if (call.cancel === true) reporter.cancel();
  }
  return sent;
}

describe("the reporter (the SDKs' shared table of cases)", () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: 0 });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it("has cases for every rule the table is meant to pin", () => {
    const names = table.cases.map((c) => c.name).join("\n");
    for (const topic of ["interval only", "step only", "both", "finished", "flush", "close", "restarts goes backwards"]) expect(names).toContain(topic);
  });

  it.each(table.cases.map((c) => [c.name, c] as const))("%s", (_name, testCase) => {
    expect(run(testCase)).toEqual(testCase.sent);
  });
});
