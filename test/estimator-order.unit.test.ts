/** The estimator on order: the same figures whatever order events arrive in, and all predicted work counting whoever it belongs to. */
import { describe, expect, it } from "vitest";
import { eventFactory, VIDEO_PLAN } from "./support/events.ts";
import { filesOf, snapshotAfterEach, snapshotOf } from "./support/fold.ts";


describe("order-insensitive estimation (execution identity, originals first seen in step events, upload completeness)", () => {
  const CHAIN = {
    a: { robot: "/image/resize", use: ":original" },
    b: { robot: "/image/optimize", use: "a" },
    c: { robot: "/s3/store", use: "b" },
  };

  it("predicts an original first seen in a step completion from the plan: 33, not 100", () => {
    const e = eventFactory("m");
    const snapshot = snapshotAfterEach([e.plan(CHAIN, { expect_originals: 1 }), e.completed("a", "f2")], { detail: true });
    expect(snapshot.progress_combined).toBe(33);
    expect(filesOf(snapshot)).toEqual({ f2: 33 });
    expect(snapshot.detail!.steps.map((step) => [step.step, step.predicted])).toEqual([["a", 1], ["b", 1], ["c", 1]]);
  });

  it("keeps an original first seen in a step event unavailable while a type-dependent path is unknown", () => {
    const e = eventFactory();
    const early = snapshotAfterEach([e.plan(VIDEO_PLAN, { expect_originals: 1 }), e.completed("encoded", "f1")]);
    expect(filesOf(early)).toEqual({ f1: null });
    expect(early.progress_combined).toBeNull();
    const known = snapshotAfterEach([e.plan(VIDEO_PLAN, { expect_originals: 1 }), e.completed("encoded", "f1"), e.original("f1", "video/mp4")]);
    expect(filesOf(known)).toEqual({ f1: 5 }); // encoded 1 of thumbs 1 + encoded 1 + resized 8·1 + stored 9
  });

  it("does not complete the upload on a seal that overtook the last original.added", () => {
    const e = eventFactory();
    const plan = e.plan({ stored: { robot: "/s3/store", use: ":original" } });
    const seal = { ...e.sealed(), count: 2 };
    const first = [plan, e.original("f1", "image/png"), e.completed("stored", "f1")];
    const sealedEarly = snapshotAfterEach([...first, seal]);
    expect(sealedEarly.progress_combined).toBeNull();
    const complete = snapshotAfterEach([...first, seal, e.original("f2", "image/png")]);
    expect(complete.progress_combined).toBe(50);
  });

  it("counts an execution once when its start names only the input and its completion names the original", () => {
    const e = eventFactory();
    const events = [
      e.plan(CHAIN, { expect_originals: 1 }),
      e.original("f1", "image/png"),
      e.started("a", undefined, 1, { input_id: "f1" }),
      e.completed("a", "f1"),
      e.started("b", undefined, 1, { input_id: "r1" }),
      e.completed("b", "f1", { input_id: "r1" }),
      e.progress("c", undefined, [5, 10], { input_id: "r2" }),
      e.completed("c", "f1", { input_id: "r2" }),
    ];
    const inOrder = snapshotAfterEach(events, { detail: true });
    expect(inOrder.progress_combined).toBe(100);
    expect(inOrder.detail!.steps.map((step) => [step.step, step.completed, step.in_flight])).toEqual([["a", 1, 0], ["b", 1, 0], ["c", 1, 0]]);
    expect(snapshotAfterEach([events[0]!, ...events.slice(1).reverse()]).progress_combined).toBe(100);
  });

  it("routes a later report that names only its input to the original an earlier report named", () => {
    const e = eventFactory();
    const snapshot = snapshotAfterEach(
      [e.plan(CHAIN, { expect_originals: 1 }), e.original("f1", "image/png"), e.completed("a", "f1"), e.started("b", "f1", 1, { input_id: "r1" }), e.progress("b", undefined, [1, 2], { input_id: "r1" })],
      { detail: true },
    );
    expect(snapshot.detail!.in_flight).toEqual([expect.objectContaining({ step: "b", input_id: "r1", original_id: "f1", progress: [1, 2] })]);
    expect(filesOf(snapshot)).toEqual({ f1: 50 });
  });

  it("predicts the files an unfinished import will bring, so the job is not shown finished before they are processed", () => {
    const e = eventFactory();
    const plan = e.plan({ imported: { robot: "/http/import", results_per_input: 2 }, stored: { robot: "/s3/store", use: "imported" } });
    const running = snapshotAfterEach([plan, e.progress("imported", undefined, [1, 2])]);
    expect(running.progress_combined).toBe(16); // half of the import: 0.5 of 1 import + 2 predicted stores
  });

  it("keeps a report of a step the plan lacks, and says so under the rejections", async () => {
    const { reduce } = await import("../core/estimator/reduce.ts");
    const { createJobState } = await import("../core/estimator/state.ts");
    const e = eventFactory();
    const state = createJobState("job-1");
    reduce(state, [e.plan(CHAIN), e.original("f1", "image/png")], 0);
    const { rejections } = reduce(state, [e.progress("encode", "f1", [1, 2])], 1);
    expect(rejections.map((rejection) => rejection.code)).toEqual(["unknown_step"]);
    expect(rejections[0]!.message).toContain("a, b, c");
    const { rejections: typo } = reduce(state, [e.progress("bb", "f1", [1, 2])], 2);
    expect(typo[0]!.message).toContain("did you mean b?");
    const { executionCount } = await import("../core/estimator/executions.ts");
    expect(executionCount(state.originals.get("f1")!.executions)).toBe(2);
  });
});

describe("all work counts, whoever it belongs to", () => {
  const importThenStore = { imported: { robot: "/http/import", results_per_input: 2 }, stored: { robot: "/s3/store", use: "imported" } };
  const importResults = [{ result_id: "a", original_id: "a", mime: "image/png" }, { result_id: "b", mime: "image/png" }];

  it("is not 100 while the store of an import's result that names no original is in flight", () => {
    const e = eventFactory();
    const snapshot = snapshotOf(
      [
        e.plan(importThenStore),
        e.completed("imported", undefined, { results: importResults }),
        e.completed("stored", "a"),
        e.progress("stored", undefined, [1, 10], { input_id: "b" }),
      ],
      { detail: true },
    );
    // The import, the store of a and the store of b: 1 + 1 + 0.1 of 3 executions.
    expect(snapshot.progress_combined).toBe(70);
    expect(snapshot.eta_seconds).not.toBe(0);
    expect(snapshot.detail!.steps.find((step) => step.step === "stored")).toEqual({ step: "stored", scope: "original", predicted: 2, completed: 1, failed: 0, in_flight: 1 });
  });

  it("predicts the later steps of an import's result that names no original before any of them is reported", () => {
    const e = eventFactory();
    const snapshot = snapshotOf([e.plan(importThenStore), e.completed("imported", undefined, { results: importResults }), e.completed("stored", "a")]);
    expect(snapshot.progress_combined).toBe(66);
  });

  it("reaches 100 once the store of that result completes", () => {
    const e = eventFactory();
    const snapshot = snapshotOf([
      e.plan(importThenStore),
      e.completed("imported", undefined, { results: importResults }),
      e.completed("stored", "a"),
      e.completed("stored", undefined, { input_id: "b" }),
    ]);
    expect(snapshot.progress_combined).toBe(100);
    expect(snapshot.eta_seconds).toBe(0);
  });

  it("counts the work done on a job-level step's result", () => {
    const e = eventFactory();
    const plan = e.plan({
      stored: { robot: "/s3/store", use: ":original" },
      archive: { robot: "/file/compress", use: "stored", per: "job" },
      exported: { robot: "/s3/store", use: "archive" },
    });
    const base = [plan, e.original("f1", "image/png"), e.sealed(), e.completed("stored", "f1"), e.completed("archive", undefined, { results: [{ result_id: "zip" }] })];
    expect(snapshotOf([...base, e.progress("exported", undefined, [1, 2], { input_id: "zip" })]).progress_combined).toBe(83);
    expect(snapshotOf([...base, e.completed("exported", undefined, { input_id: "zip" })]).progress_combined).toBe(100);
  });
});
