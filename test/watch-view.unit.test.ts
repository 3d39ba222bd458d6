import { describe, expect, it } from "vitest";
import { formatEta, watchRows, waitingRows } from "../bin/watch-view.ts";
import type { JobSnapshot } from "../sdk/client/index.ts";

const snapshot = (fields: Partial<JobSnapshot>): JobSnapshot => ({
  v: 1,
  job_id: "j",
  status: "executing",
  version: 3,
  progress_combined: 40,
  progress_per_original_file: [],
  indicators: [],
  eta_seconds: 65,
  updated_at: null,
  ...fields,
});

describe("watchRows", () => {
  it("shows the slowest files first (failed, then unknown, then by progress) and counts the rest in one row", () => {
    const files: JobSnapshot["progress_per_original_file"] = Array.from({ length: 12 }, (_, i) => ({ original_id: `f${String(i).padStart(2, "0")}`, progress: 90 - i * 5 }));
    files.push({ original_id: "unknown", progress: null }, { original_id: "broken", progress: 10, status: "failed", error: "bad codec" });
    const rows = watchRows(snapshot({ progress_per_original_file: files }), { maxFiles: 10 });
    expect(rows.slice(2, 12).map((row) => row.name)).toEqual(["broken", "unknown", "f11", "f10", "f09", "f08", "f07", "f06", "f05", "… and 5 more files"]);
    expect(rows[2]).toMatchObject({ hasBar: true, note: "failed: bad codec" });
    expect(rows[11]).toMatchObject({ hasBar: false });
  });

  it("shows each label as done/total and each in-flight command with its unit and message", () => {
    const rows = watchRows(
      snapshot({
        indicators: [{ label: null, done: 3, total: 12 }],
        detail: { in_flight: [{ step: "encoded", input_id: "f1", original_id: "f1", attempt: 1, step_index: null, progress: [512, 1024], unit: "Bytes", message: "copying", at: "2026-11-22T10:00:05.000Z" }], in_flight_total: 3 },
      }),
    );
    expect(rows.slice(1)).toEqual([
      { name: "combined", hasBar: true, percent: 40, note: "executing · ETA 1m 05s" },
      { name: "tasks", hasBar: true, percent: 25, note: "3/12" },
      { name: "▸ encoded f1", hasBar: true, percent: 50, note: "512/1024 Bytes · copying" },
      { name: "… and 2 more running", hasBar: false, percent: null, note: "" },
    ]);
  });

  it("shows a plan-less job's command by its input, with its sub-step, though the combined figure is unknown", () => {
    const rows = watchRows(
      snapshot({
        progress_combined: null,
        eta_seconds: null,
        detail: { in_flight: [{ step: "transfer", input_id: "image.tar", original_id: null, attempt: 1, step_index: [0, 2], progress: [0, 1024], unit: "Bytes", message: "Transfer retried", at: "2026-11-22T10:00:05.000Z" }], in_flight_total: 1 },
      }),
    );
    expect(rows.slice(1)).toEqual([
      { name: "combined", hasBar: true, percent: null, note: "executing · ETA unknown" },
      { name: "▸ transfer image.tar", hasBar: true, percent: 0, note: "0/1024 Bytes · step 1/2 · Transfer retried" },
    ]);
  });

  it("says it is waiting, and how the connection stands, before the first snapshot", () => {
    expect(waitingRows("upload-42", "connecting")).toEqual([
      { name: "job upload-42", hasBar: false, percent: null, note: "" },
      { name: "waiting for the job's first snapshot (connecting)…", hasBar: false, percent: null, note: "" },
    ]);
  });

  it("says the ETA is done once the job has ended, and unknown without an estimate", () => {
    expect(formatEta(30, "completed")).toBe("done");
    expect(formatEta(null, "executing")).toBe("unknown");
    expect(formatEta(3725, "executing")).toBe("1h 02m");
  });
});
