import { describe, expect, it } from "vitest";
import { ClientMessage, type JobEvent } from "../core/contract/realtime.ts";
import { fitSnapshot, frameFor, framesFor, jobEventFor, MAX_FRAME_BYTES, renderEvent } from "../core/delivery/frames.ts";
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

  it("builds the same frames from shared pieces as from whole objects", () => {
    const event = (jobId: string): JobEvent => ({ event: "assembly_execution_progress", job_id: jobId, data: snapshotOf([eventFactory(jobId).added(1, "t")]) });
    const [a, b] = [event("a"), event("b")];
    expect(framesFor([renderEvent(a, 0)], 0)).toEqual([JSON.stringify(frameFor([a]))]);
    expect(framesFor([renderEvent(a, 0), renderEvent(b, 0)], 0)).toEqual([JSON.stringify(frameFor([a, b]))]);
  });

  it("keeps a batch of large jobs in one frame under the limit by paging each job's files", () => {
    const big = (jobId: string): JobEvent => {
      const e = eventFactory(jobId);
      const snapshot = snapshotOf([e.plan({ stored: { robot: "/s3/store", use: ":original" } }), ...Array.from({ length: 5_000 }, (_, i) => e.original(`original-with-a-longish-id-${i}`, "image/png")), e.sealed()]);
      return { event: "assembly_execution_progress", job_id: jobId, data: snapshot };
    };
    const events = [big("big-a"), big("big-b"), big("big-c")].map((event) => renderEvent(event, 0));
    expect(events.every((event) => event.bytes <= MAX_FRAME_BYTES)).toBe(true);
    expect(events.reduce((sum, event) => sum + event.bytes, 0)).toBeGreaterThan(MAX_FRAME_BYTES);
    const frames = framesFor(events, 0);
    expect(frames).toHaveLength(1);
    expect(Buffer.byteLength(frames[0]!)).toBeLessThanOrEqual(MAX_FRAME_BYTES);
    const batch = JSON.parse(frames[0]!) as { event: string; events: { job_id: string; data: { files_page: { count: number } } }[] };
    expect(batch.event).toBe("batch");
    expect(batch.events.map((event) => event.job_id)).toEqual(["big-a", "big-b", "big-c"]);
    for (const event of batch.events) expect(event.data.files_page.count).toBeGreaterThan(1);
  });

  it("splits a batch into several frames only when even paged snapshots cannot share one", () => {
    const events = ["a", "b", "c", "d", "e"].map((jobId) => renderEvent({ event: "assembly_execution_progress", job_id: jobId, data: snapshotOf([eventFactory(jobId).added(3, "t")]) }, 0));
    const limit = Math.ceil(events[0]!.bytes * 2.5);
    const frames = framesFor(events, 0, limit);
    expect(frames.length).toBeGreaterThan(1);
    for (const frame of frames) expect(Buffer.byteLength(frame)).toBeLessThanOrEqual(limit);
    const jobs = frames.flatMap((frame) => {
      const parsed = JSON.parse(frame) as { event: string; job_id?: string; events?: { job_id: string }[] };
      return parsed.event === "batch" ? parsed.events!.map((event) => event.job_id) : [parsed.job_id!];
    });
    expect(jobs).toEqual(["a", "b", "c", "d", "e"]);
  });

  it("reads client frames by their action", () => {
    expect(ClientMessage.safeParse({ action: "subscribe", job_id: "a" }).success).toBe(true);
    expect(ClientMessage.safeParse({ action: "subscribe", job_id: "has space" }).success).toBe(false);
    expect(ClientMessage.safeParse({ action: "dance" }).success).toBe(false);
  });
});
