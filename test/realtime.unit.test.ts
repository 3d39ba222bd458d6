import { describe, expect, it } from "vitest";
import { ClientMessage, fitSnapshot, frameFor, jobEventFor, MAX_FRAME_BYTES } from "../core/realtime.ts";
import { eventFactory } from "./support/events.ts";
import { snapshotOf } from "./support/fold.ts";

describe("realtime decisions", () => {
  it("keeps every frame of a job with many originals under the limit, paging its file list", () => {
    const e = eventFactory("big");
    const events = [e.plan({ stored: { robot: "/s3/store", use: ":original" } }), ...Array.from({ length: 20_000 }, (_, i) => e.original(`original-with-a-longish-id-${i}`, "image/png")), e.sealed()];
    const snapshot = snapshotOf(events);
    expect(Buffer.byteLength(JSON.stringify(snapshot))).toBeGreaterThan(MAX_FRAME_BYTES);
    const seen = new Set<string>();
    const first = fitSnapshot(snapshot, 0);
    const pages = first.files_page!.count;
    expect(pages).toBeGreaterThan(1);
    for (let tick = 0; tick < pages; tick++) {
      const page = fitSnapshot(snapshot, tick);
      expect(Buffer.byteLength(JSON.stringify({ v: 1, event: "assembly_execution_progress", job_id: "big", data: page }))).toBeLessThan(128 * 1024);
      expect(page.files_page).toEqual({ index: tick, count: pages, total_files: 20_000 });
      expect(page.progress_combined).toBe(snapshot.progress_combined);
      for (const file of page.progress_per_original_file) seen.add(file.original_id);
    }
    expect(seen.size).toBe(20_000);
  });

  it("leaves a small snapshot whole", () => {
    const e = eventFactory("small");
    const snapshot = snapshotOf([e.plan({ stored: { robot: "/s3/store", use: ":original" } }), e.original("f1", "image/png")]);
    expect(fitSnapshot(snapshot, 3)).toBe(snapshot);
  });

  it("pushes progress only when asked and available, and job_finished always", () => {
    const e = eventFactory("j");
    const plan = e.plan({ stored: { robot: "/s3/store", use: ":original" } });
    const running = snapshotOf([plan, e.original("f1", "image/png"), e.sealed()]);
    expect(jobEventFor(running, true)?.event).toBe("assembly_execution_progress");
    expect(jobEventFor(running, false)).toBeNull();
    const uploading = snapshotOf([plan, e.original("f2", "image/png")]);
    expect(uploading.progress_combined).toBeNull();
    expect(jobEventFor(uploading, true)).toBeNull();
    const finished = snapshotOf([plan, e.original("f3", "image/png"), e.jobCompleted()]);
    expect(jobEventFor(finished, false)?.event).toBe("job_finished");
  });

  it("sends one event alone and several as one batch frame", () => {
    const e = eventFactory("j");
    const snapshot = snapshotOf([e.added(1, "t")]);
    const event = { event: "assembly_execution_progress" as const, job_id: "j", data: snapshot };
    expect(frameFor([event])).toEqual({ v: 1, ...event });
    expect(frameFor([event, event])).toEqual({ v: 1, event: "batch", events: [event, event] });
  });

  it("reads client frames by their action", () => {
    expect(ClientMessage.safeParse({ action: "subscribe", job_id: "a" }).success).toBe(true);
    expect(ClientMessage.safeParse({ action: "subscribe", job_id: "has space" }).success).toBe(false);
    expect(ClientMessage.safeParse({ action: "dance" }).success).toBe(false);
  });
});
