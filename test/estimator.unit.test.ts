import { describe, expect, it } from "vitest";
import { eventFactory, VIDEO_PLAN } from "./support/events.ts";
import { snapshotAfterEach, snapshotOf } from "./support/fold.ts";

const files = (snapshot: { progress_per_original_file: { original_id: string; progress: number | null }[] }) =>
  Object.fromEntries(snapshot.progress_per_original_file.map((file) => [file.original_id, file.progress]));

describe("planned pipelines: per-file and combined estimates", () => {
  it("sums work over files: two equal files at 50 % and 100 % give 75", () => {
    const e = eventFactory();
    const snapshot = snapshotOf([
      e.plan({ encoded: { robot: "/video/encode", use: ":original" }, stored: { robot: "/s3/store", use: "encoded" } }),
      e.original("f1", "video/mp4"),
      e.original("f2", "video/mp4"),
      e.sealed(),
      e.completed("encoded", "f1"),
      e.completed("encoded", "f2"),
      e.completed("stored", "f2"),
    ]);
    expect(files(snapshot)).toEqual({ f1: 50, f2: 100 });
    expect(snapshot.progress_combined).toBe(75);
  });

  it("divides summed work, not the mean of per-file percentages", () => {
    const e = eventFactory();
    const snapshot = snapshotOf([
      e.plan(VIDEO_PLAN),
      e.original("video", "video/mp4"),
      e.original("image", "image/png"),
      e.sealed(),
      e.completed("resized", "image"),
      e.completed("stored", "image"),
    ]);
    // video: thumbs 1 + encoded 1 + resized 8 + stored 9 = 19; image: resized 1 + stored 1 = 2; archive 1.
    expect(files(snapshot)).toEqual({ image: 100, video: 0 });
    expect(snapshot.progress_combined).toBe(Math.floor((100 * 2) / 22));
  });

  it("predicts different paths for files of different types (accepts filters, fan-out, output MIME)", () => {
    const e = eventFactory();
    const snapshot = snapshotOf(
      [e.plan(VIDEO_PLAN), e.original("video", "video/mp4"), e.original("image", "image/png"), e.original("doc", "text/plain"), e.sealed()],
      { detail: true },
    );
    const steps = Object.fromEntries(snapshot.detail!.steps.map((step) => [step.step, step.predicted]));
    expect(steps).toEqual({ thumbs: 1, encoded: 1, unzipped: 0, resized: 9, stored: 10, archive: 1 });
    // the text file goes through `stored` only if something upstream accepts it: nothing does.
    expect(files(snapshot)).toEqual({ doc: 100, image: 0, video: 0 });
  });

  it("blends in the in-flight fraction of a running execution", () => {
    const e = eventFactory();
    const snapshot = snapshotOf([
      e.plan({ encoded: { robot: "/video/encode", use: ":original" } }),
      e.original("f1", "video/mp4"),
      e.sealed(),
      e.progress("encoded", "f1", [40, 100], { unit: "Bytes" }),
    ]);
    expect(snapshot.progress_combined).toBe(40);
    expect(files(snapshot)).toEqual({ f1: 40 });
  });

  it("weights steps by their relative cost", () => {
    const e = eventFactory();
    const snapshot = snapshotOf([
      e.plan({ heavy: { robot: "/video/encode", use: ":original", weight: 3 }, light: { robot: "/s3/store", use: ":original" } }),
      e.original("f1", "video/mp4"),
      e.sealed(),
      e.completed("light", "f1"),
    ]);
    expect(snapshot.progress_combined).toBe(25);
  });

  it("replaces predicted result counts with actual ones when a step completes", () => {
    const e = eventFactory();
    const events = [
      e.plan({
        thumbs: { robot: "/video/thumbs", use: ":original", results_per_input: 8 },
        stored: { robot: "/s3/store", use: "thumbs" },
      }),
      e.original("f1", "video/mp4"),
      e.sealed(),
    ];
    expect(snapshotOf(events, { detail: true }).detail!.steps.find((s) => s.step === "stored")!.predicted).toBe(8);
    const after = snapshotOf([...events, e.completed("thumbs", "f1", { result_count: 3 })], { detail: true });
    expect(after.detail!.steps.find((s) => s.step === "stored")!.predicted).toBe(3);
    expect(after.progress_combined).toBe(25);
  });

  it("routes actual results by their MIME types through later accepts filters", () => {
    const e = eventFactory();
    const snapshot = snapshotOf(
      [
        e.plan({
          split: { robot: "/file/decompress", use: ":original" },
          images: { robot: "/image/resize", use: "split", accepts: ["image/*"] },
        }),
        e.original("zip", "application/zip"),
        e.sealed(),
        e.completed("split", "zip", {
          results: [
            { result_id: "r1", mime: "image/png" },
            { result_id: "r2", mime: "image/jpeg" },
            { result_id: "r3", mime: "text/plain" },
          ],
        }),
      ],
      { detail: true },
    );
    expect(snapshot.detail!.steps.find((s) => s.step === "images")!.predicted).toBe(2);
    expect(snapshot.progress_combined).toBe(33);
  });

  it("counts executions per step and original, whatever their input ids", () => {
    const e = eventFactory();
    const snapshot = snapshotOf([
      e.plan({ thumbs: { robot: "/video/thumbs", use: ":original", results_per_input: 2 }, resized: { robot: "/image/resize", use: "thumbs" } }),
      e.original("f1", "video/mp4"),
      e.sealed(),
      e.completed("thumbs", "f1", { result_count: 2 }),
      e.completed("resized", "f1", { input_id: "whatever-1" }),
    ]);
    expect(snapshot.progress_combined).toBe(66);
  });
});

describe("unpredictable steps", () => {
  const plan = {
    unzipped: { robot: "/file/decompress", use: ":original" },
    stored: { robot: "/s3/store", use: "unzipped" },
  };

  it("keeps a file's estimate and the job's unavailable while its archive is being extracted", () => {
    const e = eventFactory();
    const snapshot = snapshotOf([e.plan(plan), e.original("zip", "application/zip"), e.sealed(), e.progress("unzipped", "zip", [5, 10])]);
    expect(files(snapshot)).toEqual({ zip: null });
    expect(snapshot.progress_combined).toBeNull();
    expect(snapshot.eta_seconds).toBeNull();
  });

  it("starts estimating once the actual result count is known", () => {
    const e = eventFactory();
    const snapshot = snapshotOf([e.plan(plan), e.original("zip", "application/zip"), e.sealed(), e.completed("unzipped", "zip", { result_count: 3 })]);
    expect(snapshot.progress_combined).toBe(25);
  });

  it("does not gate files that the unpredictable step does not accept", () => {
    const e = eventFactory();
    const snapshot = snapshotOf([e.plan(VIDEO_PLAN), e.original("image", "image/png"), e.original("zip", "application/zip"), e.sealed()]);
    expect(files(snapshot)).toEqual({ image: 0, zip: null });
    expect(snapshot.progress_combined).toBeNull();
  });

  it("uses the built-in catalogue: /document/thumbs without page is unpredictable, with page it is not", () => {
    const e = eventFactory();
    const withoutPage = snapshotOf([e.plan({ t: { robot: "/document/thumbs", use: ":original" } }), e.original("d", "application/pdf"), e.sealed()]);
    expect(withoutPage.progress_combined).toBeNull();
    const f = eventFactory();
    const withPage = snapshotOf([f.plan({ t: { robot: "/document/thumbs", use: ":original", page: 1 } }), f.original("d", "application/pdf"), f.sealed()]);
    expect(withPage.progress_combined).toBe(0);
  });

  it("lets the plan override the catalogue", () => {
    const e = eventFactory();
    const snapshot = snapshotOf([e.plan({ t: { robot: "/file/decompress", use: ":original", results_per_input: 2 } }), e.original("z", "application/zip"), e.sealed()]);
    expect(snapshot.progress_combined).toBe(0);
  });

  it("gates the job while an import of a directory is running, then estimates its files", () => {
    const e = eventFactory();
    const events = [
      e.plan({ imported: { robot: "/s3/import", path: "incoming/" }, stored: { robot: "/s3/store", use: "imported" } }),
      e.started("imported", undefined),
    ];
    expect(snapshotOf(events).progress_combined).toBeNull();
    const done = snapshotOf([
      ...events,
      e.completed("imported", undefined, { results: [{ result_id: "a", original_id: "a", mime: "image/png" }, { result_id: "b", original_id: "b", mime: "image/png" }] }),
      e.completed("stored", "a"),
    ]);
    expect(files(done)).toEqual({ a: 100, b: 0 });
    expect(done.progress_combined).toBe(66);
  });

  it("treats an /s3/import of a single object as predictable", () => {
    const e = eventFactory();
    const snapshot = snapshotOf([e.plan({ imported: { robot: "/s3/import", path: "in/file.mp4" } }), e.started("imported", undefined)]);
    expect(snapshot.progress_combined).toBe(0);
  });
});

describe("job-level steps", () => {
  it("counts a per-job step once in the combined figure, not in files", () => {
    const e = eventFactory();
    const snapshot = snapshotOf([
      e.plan({ stored: { robot: "/s3/store", use: ":original" }, archive: { robot: "/file/compress", use: "stored", per: "job" } }),
      e.original("f1", "image/png"),
      e.original("f2", "image/png"),
      e.sealed(),
      e.completed("stored", "f1"),
      e.completed("stored", "f2"),
    ]);
    expect(files(snapshot)).toEqual({ f1: 100, f2: 100 });
    expect(snapshot.progress_combined).toBe(66);
  });

  it("reaches 100 once the job-level step completes", () => {
    const e = eventFactory();
    const snapshot = snapshotOf([
      e.plan({ stored: { robot: "/s3/store", use: ":original" }, archive: { robot: "/file/compress", use: "stored", per: "job" } }),
      e.original("f1", "image/png"),
      e.sealed(),
      e.completed("stored", "f1"),
      e.completed("archive", undefined, { original_id: undefined }),
    ]);
    expect(snapshot.progress_combined).toBe(100);
    expect(snapshot.eta_seconds).toBe(0);
    expect(snapshot.status).toBe("executing");
  });

  it("keeps job-level executions reported with an original id in the job bucket", () => {
    const e = eventFactory();
    const snapshot = snapshotOf([
      e.plan({ stored: { robot: "/s3/store", use: ":original" }, archive: { robot: "/file/compress", use: "stored", per: "job" } }),
      e.original("f1", "image/png"),
      e.sealed(),
      e.progress("archive", "f1", [50, 100]),
    ]);
    expect(files(snapshot)).toEqual({ f1: 0 });
    expect(snapshot.progress_combined).toBe(25);
  });
});

describe("uploads", () => {
  const plan = { stored: { robot: "/s3/store", use: ":original" } };

  it("gates only the combined figure while uploads are not sealed", () => {
    const e = eventFactory();
    const snapshot = snapshotOf([e.plan(plan), e.original("f1", "image/png"), e.completed("stored", "f1")]);
    expect(files(snapshot)).toEqual({ f1: 100 });
    expect(snapshot.progress_combined).toBeNull();
    expect(snapshot.status).toBe("executing");
  });

  it("treats the upload as complete once the known originals reach expect_originals", () => {
    const e = eventFactory();
    const events = [e.plan(plan, { expect_originals: 2 }), e.original("f1", "image/png"), e.completed("stored", "f1")];
    expect(snapshotOf(events).progress_combined).toBeNull();
    expect(snapshotOf(events).status).toBe("executing");
    expect(snapshotOf([...events, e.original("f2", "image/png")]).progress_combined).toBe(50);
  });

  it("waits for originals.sealed when expect_originals is unknown", () => {
    const e = eventFactory();
    const events = [e.plan(plan, { expect_originals: "unknown" }), e.original("f1", "image/png")];
    expect(snapshotOf(events).progress_combined).toBeNull();
    expect(snapshotOf(events).status).toBe("uploading");
    expect(snapshotOf([...events, e.sealed()]).progress_combined).toBe(0);
  });

  it("takes originals listed in job.declared as the whole upload", () => {
    const e = eventFactory();
    const snapshot = snapshotOf([e.plan(plan, { originals: [{ original_id: "f1", mime: "image/png" }] })]);
    expect(snapshot.progress_combined).toBe(0);
    expect(snapshot.status).toBe("executing");
  });

  it("reports declared, uploading and executing in turn", () => {
    const e = eventFactory();
    const declared = e.plan(plan);
    expect(snapshotOf([declared]).status).toBe("declared");
    const added = e.original("f1", "image/png");
    expect(snapshotOf([declared, added]).status).toBe("uploading");
    expect(snapshotOf([declared, added, e.sealed()]).status).toBe("executing");
  });
});

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
    expect(files(held)).toEqual({ f1: 80 });
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
    expect(files(snapshot)).toEqual({ f1: 99 });
  });
});

describe("terminal job events", () => {
  const plan = { encoded: { robot: "/video/encode", use: ":original" } };

  it("finishes what is left on job.completed", () => {
    const e = eventFactory();
    const snapshot = snapshotOf([e.plan(plan), e.original("f1", "video/mp4"), e.jobCompleted()]);
    expect(snapshot).toMatchObject({ status: "completed", progress_combined: 100, eta_seconds: 0 });
    expect(files(snapshot)).toEqual({ f1: 100 });
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

describe("counted work (indicators)", () => {
  it("pools done and total over every label and task", () => {
    const e = eventFactory();
    const snapshot = snapshotOf([
      e.added(10, "t1"),
      e.done(3, "t1"),
      e.added(4, "t2", { label: "step1" }),
      e.done(4, "t2", { label: "step1" }),
    ]);
    expect(snapshot.indicators).toEqual([
      { label: null, done: 3, total: 10 },
      { label: "step1", done: 4, total: 4 },
    ]);
    expect(snapshot.progress_combined).toBe(50);
    expect(snapshot.status).toBe("executing");
  });

  it("counts only the last execution of a retried task", () => {
    const e = eventFactory();
    const snapshot = snapshotOf([
      e.added(10, "t1"),
      e.done(7, "t1"),
      e.added(10, "t1", { attempt: 2 }),
      e.done(2, "t1", { attempt: 2 }),
      e.done(5, "t1", { attempt: 1 }),
    ]);
    expect(snapshot.indicators).toEqual([{ label: null, done: 2, total: 10 }]);
  });

  it("lets a task's higher attempt replace what lower attempts reported under every label", () => {
    const e = eventFactory();
    const events = [
      e.reported("t1", 2, 1, { label: "a" }),
      e.added(2, "t2", { label: "a" }),
      e.reported("t1", 2, 0, { label: "b", attempt: 2 }),
      e.reported("t1", 5, 5, { label: "c" }), // a late report of the first attempt
    ];
    const expected = [
      { label: "a", done: 0, total: 2 },
      { label: "b", done: 0, total: 2 },
      { label: "c", done: 0, total: 0 },
    ];
    expect(snapshotOf(events).indicators).toEqual(expected);
    expect(snapshotAfterEach(events).indicators).toEqual(expected);
    expect(snapshotAfterEach([...events].reverse()).indicators).toEqual(expected);
    expect(snapshotOf(events).progress_combined).toBe(0);
  });

  it("adds the amounts of one attempt, counting each event id once", () => {
    const e = eventFactory();
    const twice = e.done(2, "t1");
    const snapshot = snapshotOf([e.added(10, "t1"), twice, twice, e.done(3, "t1")]);
    expect(snapshot.indicators).toEqual([{ label: null, done: 5, total: 10 }]);
  });

  it("reaches 100 when done equals a positive total", () => {
    const e = eventFactory();
    expect(snapshotOf([e.added(2, "t1"), e.done(2, "t1")]).progress_combined).toBe(100);
    const f = eventFactory();
    expect(snapshotOf([f.declared({})]).progress_combined).toBeNull();
  });

  it("refuses a job's 1,001st label and keeps the rest", async () => {
    const { foldEvents } = await import("../core/estimator/reduce.ts");
    const { applyEvents } = await import("../core/estimator/fold.ts");
    const e = eventFactory();
    const state = foldEvents("job-1", Array.from({ length: 1000 }, (_, i) => e.added(1, "t", { label: `l${i}` })), 0);
    const rejections = applyEvents(state, [e.added(1, "t", { label: "one-too-many" }), e.added(1, "t2", { label: "l1" })]);
    expect(rejections.map((r) => r.code)).toEqual(["too_many_labels"]);
    const { labelCount } = await import("../core/estimator/indicators.ts");
    expect(labelCount(state)).toBe(1000);
  });
});

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
    expect(files(snapshot)).toEqual({ f2: 33 });
    expect(snapshot.detail!.steps.map((step) => [step.step, step.predicted])).toEqual([["a", 1], ["b", 1], ["c", 1]]);
  });

  it("keeps an original first seen in a step event unavailable while a type-dependent path is unknown", () => {
    const e = eventFactory();
    const early = snapshotAfterEach([e.plan(VIDEO_PLAN, { expect_originals: 1 }), e.completed("encoded", "f1")]);
    expect(files(early)).toEqual({ f1: null });
    expect(early.progress_combined).toBeNull();
    const known = snapshotAfterEach([e.plan(VIDEO_PLAN, { expect_originals: 1 }), e.completed("encoded", "f1"), e.original("f1", "video/mp4")]);
    expect(files(known)).toEqual({ f1: 5 }); // encoded 1 of thumbs 1 + encoded 1 + resized 8·1 + stored 9
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
    expect(files(snapshot)).toEqual({ f1: 50 });
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
