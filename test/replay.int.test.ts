import { afterAll, describe, expect, it } from "vitest";
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import type { Event } from "../core/contract/events.ts";
import { eventFactory, VIDEO_PLAN } from "./support/events.ts";

const run = promisify(execFile);
const headway = join(import.meta.dirname, "..", "bin", "headway.ts");

const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function logFile(lines: (Event | object | string)[]): string {
  const dir = mkdtempSync(join(tmpdir(), "headway-replay-"));
  dirs.push(dir);
  const path = join(dir, "events.ndjson");
  writeFileSync(path, lines.map((line) => (typeof line === "string" ? line : JSON.stringify(line))).join("\n") + "\n");
  return path;
}

async function replay(...args: string[]) {
  try {
    const { stdout, stderr } = await run(process.execPath, [headway, "replay", ...args]);
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

describe("headway replay", () => {
  it("prints each job's final snapshot as one JSON line, in order of first appearance", async () => {
    const a = eventFactory("job-a");
    const b = eventFactory("job-b");
    const file = logFile([
      a.plan(VIDEO_PLAN),
      b.added(4, "t1"),
      a.original("f1", "image/png"),
      { v: 1, events: [a.sealed(), a.completed("resized", "f1")] },
      b.done(1, "t1"),
      "",
    ]);
    const { code, stdout } = await replay(file);
    expect(code).toBe(0);
    const snapshots = stdout.trim().split("\n").map((line) => JSON.parse(line));
    expect(snapshots.map((s) => s.job_id)).toEqual(["job-a", "job-b"]);
    expect(snapshots[0]).toMatchObject({ v: 1, status: "executing", progress_combined: 33, progress_per_original_file: [{ original_id: "f1", progress: 50 }] });
    expect(snapshots[1]).toMatchObject({ progress_combined: 25, indicators: [{ label: null, done: 1, total: 4 }] });
    expect(snapshots[0].detail).toBeUndefined();
  });

  it("adds per-step counts and in-flight executions with --detail", async () => {
    const e = eventFactory();
    const file = logFile([e.plan(VIDEO_PLAN), e.original("f1", "video/mp4"), e.progress("encoded", "f1", [3, 4], { unit: "Bytes", step_index: [1, 3] })]);
    const { stdout } = await replay(file, "--detail");
    const snapshot = JSON.parse(stdout);
    const reported = e.progress("encoded", "f1", [3, 4]).at; // the factory's next time; the report above went out one second before
    expect(snapshot.detail.in_flight).toEqual([
      { step: "encoded", input_id: "f1", original_id: "f1", attempt: 1, step_index: [1, 3], progress: [3, 4], unit: "Bytes", message: null, at: new Date(Date.parse(reported) - 1000).toISOString() },
    ]);
    expect(snapshot.detail.in_flight_total).toBe(1);
    expect(snapshot.detail.steps.find((s: { step: string }) => s.step === "encoded")).toMatchObject({ predicted: 1, in_flight: 1 });
  });

  it("updates the displayed value after each line, as the service does after each batch", async () => {
    const e = eventFactory();
    const plan = { encoded: { robot: "/video/encode", use: ":original" } };
    const file = logFile([
      e.plan(plan),
      e.original("f1", "video/mp4"),
      e.sealed(),
      e.progress("encoded", "f1", [80, 100]),
      e.failed("encoded", "f1", true),
    ]);
    const snapshot = JSON.parse((await replay(file, "--detail")).stdout);
    expect(snapshot.progress_combined).toBe(80);
    expect(snapshot.detail.true_progress_combined).toBe(0);
  });

  it("stops at a bad line with a non-zero exit naming the line and the field", async () => {
    const e = eventFactory();
    const file = logFile([e.plan(VIDEO_PLAN), { ...e.progress("encoded", "f1", [1, 2]), progress: [1, -5] }]);
    const { code, stdout, stderr } = await replay(file);
    expect(code).toBe(1);
    expect(stdout).toBe("");
    expect(stderr).toMatch(/line 2: progress\[1\]/);
  });

  it("names a line that is not JSON", async () => {
    const { code, stderr } = await replay(logFile(["{not json"]));
    expect(code).toBe(1);
    expect(stderr).toMatch(/line 1: not JSON/);
  });

  it("says so when the file does not exist", async () => {
    const { code, stderr } = await replay("/nonexistent/events.ndjson");
    expect(code).toBe(1);
    expect(stderr).toMatch(/no such file/);
  });
});
