/** The estimator on how work ends: retries (the last attempt counts), failures, and the terminal job events. */
import { describe, expect, it } from "vitest";
import { eventFactory } from "./support/events.ts";
import { filesOf, snapshotAfterEach, snapshotOf } from "./support/fold.ts";


describe("retries and failures", () => {
  const plan = { encoded: { robot: "/video/encode", use: ":original" } };

  it("lets a higher attempt replace everything lower attempts reported", () => {
    const e = eventFactory();
    const snapshot = snapshotOf([
      e.plan(plan),
      e.original("f1", "video/mp4"),
      e.sealed(),
      e.progress("encoded", "f1", [90, 100]),
      e.progress("encoded", "f1", [10, 100], { attempt: 2 }),
    ]);
    expect(snapshot.progress_combined).toBe(10);
  });

  it("ignores reports of a lower attempt that arrive late", () => {
    const e = eventFactory();
    const snapshot = snapshotOf([
      e.plan(plan),
      e.original("f1", "video/mp4"),
      e.sealed(),
      e.progress("encoded", "f1", [20, 100], { attempt: 2 }),
      e.completed("encoded", "f1", { attempt: 1 }),
    ]);
    expect(snapshot.progress_combined).toBe(20);
  });

  it("keeps showing 80 after a retry resets the execution, until the new attempt passes it", () => {
    const e = eventFactory();
    const start = [e.plan(plan), e.original("f1", "video/mp4"), e.sealed(), e.progress("encoded", "f1", [80, 100])];
    const retried = [...start, e.failed("encoded", "f1", true), e.progress("encoded", "f1", [30, 100], { attempt: 2 })];
    const held = snapshotAfterEach(retried, { detail: true });
    expect(filesOf(held)).toEqual({ f1: 80 });
    expect(held.progress_combined).toBe(80);
    expect(held.detail!.true_progress_combined).toBe(30);
    const passed = snapshotAfterEach([...retried, e.progress("encoded", "f1", [90, 100], { attempt: 2 })]);
    expect(passed.progress_combined).toBe(90);
  });

  it("counts a final failure as finished and marks the file failed, leaving the job executing", () => {
    const e = eventFactory();
    const snapshot = snapshotOf([
      e.plan(plan),
      e.original("f1", "video/mp4"),
      e.original("f2", "video/mp4"),
      e.sealed(),
      e.failed("encoded", "f1", false, { error: "codec not supported" }),
    ]);
    expect(snapshot.progress_per_original_file).toEqual([
      { original_id: "f1", progress: 100, status: "failed", error: "codec not supported" },
      { original_id: "f2", progress: 0 },
    ]);
    expect(snapshot.progress_combined).toBe(50);
    expect(snapshot.status).toBe("executing");
  });

  it("lets a completion supersede progress reports of the same attempt, whichever arrives first", () => {
    const e = eventFactory();
    const completed = e.completed("encoded", "f1");
    const lateProgress = e.progress("encoded", "f1", [10, 100]);
    const snapshot = snapshotOf([e.plan(plan), e.original("f1", "video/mp4"), e.sealed(), completed, lateProgress]);
    expect(snapshot.progress_combined).toBe(100);
  });

  it("takes the latest report within an attempt, even when the transfer went backwards", () => {
    const e = eventFactory();
    const snapshot = snapshotOf(
      [
        e.plan(plan),
        e.original("f1", "video/mp4"),
        e.sealed(),
        e.progress("encoded", "f1", [60, 100], { at: "2026-11-22T10:01:00.000Z" }),
        e.progress("encoded", "f1", [20, 100], { at: "2026-11-22T10:02:00.000Z", message: "Transfer retried" }),
        e.progress("encoded", "f1", [70, 100], { at: "2026-11-22T10:00:30.000Z" }),
      ],
      { detail: true },
    );
    expect(snapshot.detail!.true_progress_combined).toBe(20);
    expect(snapshot.detail!.in_flight[0]).toMatchObject({ progress: [20, 100], message: "Transfer retried" });
  });

  it("breaks ties between reports at the same time by the larger fraction", () => {
    const e = eventFactory();
    const at = "2026-11-22T10:01:00.000Z";
    const snapshot = snapshotOf([
      e.plan(plan),
      e.original("f1", "video/mp4"),
      e.sealed(),
      e.progress("encoded", "f1", [60, 100], { at }),
      e.progress("encoded", "f1", [40, 100], { at }),
    ]);
    expect(snapshot.progress_combined).toBe(60);
  });

  it("treats a null total as started with an unknown fraction", () => {
    const e = eventFactory();
    const snapshot = snapshotOf([e.plan(plan), e.original("f1", "video/mp4"), e.sealed(), e.progress("encoded", "f1", [500, null], { unit: "Bytes" })], { detail: true });
    expect(snapshot.progress_combined).toBe(0);
    expect(snapshot.detail!.in_flight[0]).toMatchObject({ progress: [500, null], unit: "Bytes" });
  });

  it("shows 100 only when truly finished, never from rounding", () => {
    const e = eventFactory();
    const snapshot = snapshotOf([e.plan(plan), e.original("f1", "video/mp4"), e.sealed(), e.progress("encoded", "f1", [999_999, 1_000_000])]);
    expect(snapshot.progress_combined).toBe(99);
    expect(filesOf(snapshot)).toEqual({ f1: 99 });
  });
});

describe("terminal job events", () => {
  const plan = { encoded: { robot: "/video/encode", use: ":original" } };

  it("finishes what is left on job.completed", () => {
    const e = eventFactory();
    const snapshot = snapshotOf([e.plan(plan), e.original("f1", "video/mp4"), e.jobCompleted()]);
    expect(snapshot).toMatchObject({ status: "completed", progress_combined: 100, eta_seconds: 0 });
    expect(filesOf(snapshot)).toEqual({ f1: 100 });
  });

  it("leaves the figure where it was on job.failed and job.cancelled", () => {
    for (const terminal of ["jobFailed", "jobCancelled"] as const) {
      const e = eventFactory();
      const snapshot = snapshotOf([e.plan(plan), e.original("f1", "video/mp4"), e.sealed(), e.progress("encoded", "f1", [30, 100]), e[terminal]()]);
      expect(snapshot.progress_combined).toBe(30);
      expect(snapshot.status).toBe(terminal === "jobFailed" ? "failed" : "cancelled");
    }
  });

  it("does not complete a job whose figure reaches 100 by itself", () => {
    const e = eventFactory();
    const snapshot = snapshotOf([e.plan(plan), e.original("f1", "video/mp4"), e.sealed(), e.completed("encoded", "f1")]);
    expect(snapshot).toMatchObject({ status: "executing", progress_combined: 100 });
  });
});
