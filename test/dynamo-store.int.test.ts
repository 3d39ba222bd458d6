import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Event } from "../core/contract.ts";
import { StoreConflict } from "../core/errors.ts";
import { reduce } from "../core/estimator.ts";
import { renderSnapshot } from "../core/snapshot.ts";
import { createJobState } from "../core/state.ts";
import { createDynamoStore } from "../functions/adapters/dynamo-store.ts";
import { DYNAMO_BACKENDS, newTable, type TestTable } from "./support/dynamo.ts";
import { eventFactory, VIDEO_PLAN } from "./support/events.ts";
import { fold } from "./support/fold.ts";

const NOW = Date.parse("2026-11-22T10:00:00.000Z");

for (const backend of DYNAMO_BACKENDS) {
  describe(`DynamoDB store on ${backend.name}`, () => {
    let emulator: { endpoint: string; close(): Promise<void> };
    let table: TestTable;
    beforeAll(async () => {
      emulator = await backend.start();
      table = await newTable(emulator.endpoint);
    });
    afterAll(async () => {
      await table?.close();
      await emulator?.close();
    });

    const storeOf = () => createDynamoStore({ client: table.client, tableName: table.name });

    async function applyBatch(store: ReturnType<typeof storeOf>, jobId: string, batch: Event[], nowMs: number) {
      const job = await store.loadForBatch(jobId, batch);
      expect(job).not.toBeNull();
      reduce(job!.state, batch, nowMs);
      await store.save(job!, nowMs);
    }

    it("stores a job and gives back the same snapshot, batch after batch", async () => {
      const store = storeOf();
      const e = eventFactory("job-store-1");
      const declared = e.plan(VIDEO_PLAN, { expect_originals: 3 });
      const created = createJobState("job-store-1", { partCount: 4 });
      reduce(created, [declared], NOW);
      expect(await store.createJob({ jobId: "job-store-1", tenant: "t1", createdAtMs: NOW }, created)).toBe(true);
      const batches: Event[][] = [
        [e.original("f1", "video/mp4"), e.original("f2", "image/png"), e.original("f3", "application/zip")],
        [e.progress("encoded", "f1", [50, 100]), e.completed("resized", "f2"), e.added(5, "t1", { label: "tiles" })],
        [e.completed("unzipped", "f3", { result_count: 2 }), e.done(2, "t1", { label: "tiles" }), e.failed("encoded", "f1", true)],
      ];
      for (const [index, batch] of batches.entries()) await applyBatch(store, "job-store-1", batch, NOW + (index + 1) * 1000);
      const loaded = await store.loadJob("job-store-1");
      expect(loaded?.meta).toEqual({ jobId: "job-store-1", tenant: "t1", createdAtMs: NOW });
      const expected = fold([[declared], ...batches], "job-store-1");
      expect(renderSnapshot(loaded!.state, { detail: true })).toEqual(renderSnapshot(expected, { detail: true }));
    });

    it("refuses to create a job whose id is taken", async () => {
      const store = storeOf();
      const state = createJobState("job-store-2");
      expect(await store.createJob({ jobId: "job-store-2", tenant: "t1", createdAtMs: NOW }, state)).toBe(true);
      expect(await store.createJob({ jobId: "job-store-2", tenant: "t2", createdAtMs: NOW }, state)).toBe(false);
      expect((await store.getMeta("job-store-2"))?.tenant).toBe("t1");
    });

    it("answers null for a job it does not have", async () => {
      const store = storeOf();
      expect(await store.loadForBatch("nope", [])).toBeNull();
      expect(await store.loadJob("nope")).toBeNull();
      expect(await store.getMeta("nope")).toBeNull();
    });

    it("lets only one of two concurrent writers of the same part win", async () => {
      const store = storeOf();
      const e = eventFactory("job-store-3");
      const state = createJobState("job-store-3");
      reduce(state, [e.plan(VIDEO_PLAN)], NOW);
      await store.createJob({ jobId: "job-store-3", tenant: "t1", createdAtMs: NOW }, state);
      const first = [e.progress("encoded", "f1", [10, 100])];
      const second = [e.progress("encoded", "f1", [20, 100])];
      const a = (await store.loadForBatch("job-store-3", first))!;
      const b = (await store.loadForBatch("job-store-3", second))!;
      reduce(a.state, first, NOW + 1);
      reduce(b.state, second, NOW + 2);
      await store.save(a, NOW + 1);
      await expect(store.save(b, NOW + 2)).rejects.toBeInstanceOf(StoreConflict);
    });

    it("writes nothing when a batch changes nothing (duplicates cost no write)", async () => {
      const store = storeOf();
      const e = eventFactory("job-store-4");
      const state = createJobState("job-store-4");
      reduce(state, [e.plan(VIDEO_PLAN)], NOW);
      await store.createJob({ jobId: "job-store-4", tenant: "t1", createdAtMs: NOW }, state);
      const batch = [e.original("f1", "video/mp4"), e.progress("encoded", "f1", [10, 100])];
      await applyBatch(store, "job-store-4", batch, NOW + 1);
      const writesBefore = store.metrics.writes;
      await applyBatch(store, "job-store-4", batch, NOW + 2);
      expect(store.metrics.writes).toBe(writesBefore);
    });

    it("records rejections and lists them newest first", async () => {
      const store = storeOf();
      await store.recordRejections([
        { jobId: "job-store-5", code: "invalid_event", reason: "progress[1]: too small", source: "sqs:m1:0", excerpt: "{}", atMs: NOW },
        { jobId: "job-store-5", code: "unknown_job", reason: "late", source: "sqs:m2:0", excerpt: "{}", atMs: NOW + 1 },
      ]);
      const listed = await store.listRejections("job-store-5", 10);
      expect(listed.map((r) => r.code)).toEqual(["unknown_job", "invalid_event"]);
      expect(listed[1]).toMatchObject({ reason: "progress[1]: too small", source: "sqs:m1:0" });
    });
  });
}
