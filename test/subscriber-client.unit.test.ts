import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import type { FileProgress } from "../core/contract/snapshot.ts";
import type { FrameSnapshot } from "../core/contract/realtime.ts";
import { decodeFrames, expiresWithin } from "../sdk/client/index.ts";
import { emptyMerge, isWhole, mergeSnapshot } from "../sdk/client/merge.ts";

const files = (ids: string[], progress: number): FileProgress[] => ids.map((original_id) => ({ original_id, progress }));

function snapshot(version: number, fileList: FileProgress[], extra: Partial<FrameSnapshot> = {}): FrameSnapshot {
  return { v: 1, job_id: "j", status: "executing", version, progress_combined: version, progress_per_original_file: fileList, indicators: [], eta_seconds: null, updated_at: null, ...extra };
}

describe("merging received snapshots", () => {
  it("drops repeats and stale versions, and takes newer ones whole", () => {
    const merged = emptyMerge();
    expect(mergeSnapshot(merged, snapshot(3, files(["a"], 10)))?.version).toBe(3);
    expect(mergeSnapshot(merged, snapshot(3, files(["a"], 10)))).toBeNull();
    expect(mergeSnapshot(merged, snapshot(2, files(["a"], 5)))).toBeNull();
    expect(mergeSnapshot(merged, snapshot(5, files(["a"], 40)))).toMatchObject({ version: 5, progress_per_original_file: [{ original_id: "a", progress: 40 }] });
  });

  it("rebuilds one whole list from pages, keeping each file's latest value, and shows nothing until every file was seen", () => {
    const merged = emptyMerge();
    const page = (version: number, index: number, ids: string[], progress: number) => snapshot(version, files(ids, progress), { files_page: { index, count: 2, total_files: 4 } });
    expect(mergeSnapshot(merged, page(7, 0, ["a", "b"], 10))).toBeNull();
    const whole = mergeSnapshot(merged, page(7, 1, ["c", "d"], 20));
    expect(whole?.progress_per_original_file).toEqual([...files(["a", "b"], 10), ...files(["c", "d"], 20)]);
    expect(whole).not.toHaveProperty("files_page");
    expect(isWhole(merged)).toBe(true);
    // The next version's first page: its fields and its files replace, the others keep theirs.
    const next = mergeSnapshot(merged, page(8, 1, ["c", "d"], 60));
    expect(next).toMatchObject({ version: 8, progress_combined: 8, progress_per_original_file: [...files(["a", "b"], 10), ...files(["c", "d"], 60)] });
    expect(isWhole(merged)).toBe(false);
    expect(mergeSnapshot(merged, page(8, 1, ["c", "d"], 60))).toBeNull();
    expect(mergeSnapshot(merged, page(7, 0, ["a", "b"], 10))).toBeNull();
    mergeSnapshot(merged, page(8, 0, ["a", "b"], 30));
    expect(isWhole(merged)).toBe(true);
    expect(merged.snapshot?.progress_per_original_file).toEqual([...files(["a", "b"], 30), ...files(["c", "d"], 60)]);
  });
});

describe("decoding server frames", () => {
  const progress = (jobId: string) => ({ event: "assembly_execution_progress", job_id: jobId, data: snapshot(1, []) });

  it("skips what it does not know: bad JSON, unknown events, unknown entries of a batch", () => {
    expect(decodeFrames("not json")).toEqual([]);
    expect(decodeFrames(JSON.stringify({ v: 1, event: "something_new", job_id: "j" }))).toEqual([]);
    const batch = decodeFrames(JSON.stringify({ v: 1, event: "batch", events: [progress("a"), { event: "something_new" }, progress("b")] }));
    expect(batch.map((frame) => ("job_id" in frame ? frame.job_id : null))).toEqual(["a", "b"]);
    expect(decodeFrames(JSON.stringify({ v: 1, event: "error", code: "forbidden", message: "no", id: "r1", extra: true }))).toEqual([{ v: 1, event: "error", code: "forbidden", message: "no", id: "r1" }]);
  });

  it("reads a subscriber token's expiry without its secret", () => {
    const token = (expiresAtSeconds: number) => `${Buffer.from(JSON.stringify({ v: 1, t: "x", j: ["j"], e: expiresAtSeconds })).toString("base64url")}.sig`;
    expect(expiresWithin(token(1_000), 0, 999_000)).toBe(false);
    expect(expiresWithin(token(1_000), 2_000, 999_000)).toBe(true);
    expect(expiresWithin("opaque-token", 60_000)).toBe(false);
  });
});

describe("the client's browser path", () => {
  it("imports no Node module: only relative modules, zod, and eventsource (loaded where EventSource is missing)", () => {
    const seen = new Set<string>();
    const bare = new Set<string>();
    const visit = (file: string) => {
      if (seen.has(file)) return;
      seen.add(file);
      const source = readFileSync(file, "utf8");
      for (const [, specifier] of source.matchAll(/(?:^|\n)\s*(?:import|export)\s(?:[^"';]*?\sfrom\s)?["']([^"']+)["']|import\(\s*["']([^"']+)["']\s*\)/g)) {
        if (specifier === undefined) continue;
        if (specifier.startsWith(".")) visit(resolve(dirname(file), specifier));
        else bare.add(specifier);
      }
      for (const [, specifier] of source.matchAll(/import\(\s*["']([^"']+)["']\s*\)/g)) bare.add(specifier!);
    };
    for (const entry of ["sdk/client/index.ts", "sdk/client/react.ts"]) visit(resolve(entry));
    expect([...bare].sort()).toEqual(["eventsource", "zod"]);
    expect([...seen].map((file) => file.slice(resolve(".").length + 1)).sort()).toEqual([
      "core/contract/fields.ts",
      "core/contract/issues.ts",
      "core/contract/realtime.ts",
      "core/contract/snapshot.ts",
      "core/errors.ts",
      "sdk/client/index.ts",
      "sdk/client/links.ts",
      "sdk/client/merge.ts",
      "sdk/client/react.ts",
      "sdk/client/tokens.ts",
    ]);
  });
});
