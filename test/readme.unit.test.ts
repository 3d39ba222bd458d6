/** The README's examples are real: every event line of its reference parses, and replaying them gives a finished job. */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parseMessageBody } from "../core/ingest.ts";
import { foldEvents } from "../core/estimator.ts";
import { renderSnapshot } from "../core/snapshot.ts";

const readme = readFileSync(new URL("../README.md", import.meta.url), "utf8");
const blocks = (language: string) => [...readme.matchAll(new RegExp("```" + language + "\\n([\\s\\S]*?)```", "g"))].map((match) => match[1]!);

describe("README", () => {
  const lines = blocks("ndjson").flatMap((block) => block.split("\n").filter((line) => line.trim() !== ""));

  it("has an event reference whose every example line is a valid event", () => {
    expect(lines.length).toBeGreaterThanOrEqual(12);
    for (const line of lines) expect(parseMessageBody(line).rejections, line).toEqual([]);
  });

  it("shows every event type in the reference examples", () => {
    const types = new Set(lines.map((line) => (JSON.parse(line) as { type: string }).type));
    for (const type of ["job.declared", "original.added", "originals.sealed", "step.started", "step.progress", "step.completed", "step.failed", "indicator.reported", "indicator.added", "indicator.done", "job.completed"]) {
      expect(types, type).toContain(type);
    }
  });

  it("ends the reference example with a completed job at 100", () => {
    const events = lines.flatMap((line) => parseMessageBody(line).events);
    const snapshot = renderSnapshot(foldEvents("j1", events, Date.parse("2026-11-22T10:00:11Z")));
    expect(snapshot).toMatchObject({ status: "completed", progress_combined: 100 });
  });
});
