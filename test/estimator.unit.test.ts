import { describe, expect, it } from "vitest";
import { eventFactory, VIDEO_PLAN } from "./support/events.ts";
import { filesOf, snapshotAfterEach, snapshotOf } from "./support/fold.ts";

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
    expect(filesOf(snapshot)).toEqual({ f1: 50, f2: 100 });
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
    expect(filesOf(snapshot)).toEqual({ image: 100, video: 0 });
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
    expect(filesOf(snapshot)).toEqual({ doc: 100, image: 0, video: 0 });
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
    expect(filesOf(snapshot)).toEqual({ f1: 40 });
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
    expect(filesOf(snapshot)).toEqual({ zip: null });
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
    expect(filesOf(snapshot)).toEqual({ image: 0, zip: null });
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
    expect(filesOf(done)).toEqual({ a: 100, b: 0 });
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
    expect(filesOf(snapshot)).toEqual({ f1: 100, f2: 100 });
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
    expect(filesOf(snapshot)).toEqual({ f1: 0 });
    expect(snapshot.progress_combined).toBe(25);
  });
});

describe("uploads", () => {
  const plan = { stored: { robot: "/s3/store", use: ":original" } };

  it("gates only the combined figure while uploads are not sealed", () => {
    const e = eventFactory();
    const snapshot = snapshotOf([e.plan(plan), e.original("f1", "image/png"), e.completed("stored", "f1")]);
    expect(filesOf(snapshot)).toEqual({ f1: 100 });
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
