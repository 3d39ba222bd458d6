import { BatchWriteItemCommand } from "@aws-sdk/client-dynamodb";
import { describe, expect, it } from "vitest";
import type { Event } from "../core/contract/events.ts";
import { StoreConflict } from "../core/errors.ts";
import { reduce } from "../core/estimator/reduce.ts";
import { renderSnapshot } from "../core/estimator/snapshot.ts";
import { createJobState } from "../core/estimator/state.ts";
import { createDynamoStore } from "../functions/adapters/dynamo/store.ts";
import { DYNAMO_BACKENDS, useTable } from "./support/dynamo.ts";
import { eventFactory, VIDEO_PLAN } from "./support/events.ts";
import { fold } from "./support/fold.ts";

const NOW = Date.parse("2026-11-22T10:00:00.000Z");
const ref = (jobId: string, tenant = "t1") => ({ tenant, jobId });
const meta = (jobId: string, tenant = "t1", incarnation = `inc-${jobId}`) => ({ tenant, jobId, incarnation, createdAtMs: NOW });

for (const backend of DYNAMO_BACKENDS) {
  describe(`DynamoDB store on ${backend.name}`, () => {
    const table = useTable(backend);

    const storeOf = () => createDynamoStore({ client: table.client, tableName: table.name, now: Date.now });

    async function applyBatch(store: ReturnType<typeof storeOf>, jobId: string, batch: Event[], nowMs: number) {
      const job = await store.loadForBatch(ref(jobId), batch);
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
      expect(await store.createJob(meta("job-store-1"), created)).toBe(true);
      const batches: Event[][] = [
        [e.original("f1", "video/mp4"), e.original("f2", "image/png"), e.original("f3", "application/zip")],
        [e.progress("encoded", "f1", [50, 100]), e.completed("resized", "f2"), e.added(5, "t1", { label: "tiles" })],
        [e.completed("unzipped", "f3", { result_count: 2 }), e.done(2, "t1", { label: "tiles" }), e.failed("encoded", "f1", true)],
      ];
      for (const [index, batch] of batches.entries()) await applyBatch(store, "job-store-1", batch, NOW + (index + 1) * 1000);
      const loaded = await store.loadJob(ref("job-store-1"));
      if (loaded === null || loaded === "busy") throw new Error(`job read: ${loaded}`);
      expect(loaded.meta).toEqual(meta("job-store-1"));
      const expected = fold([[declared], ...batches], "job-store-1");
      expect(renderSnapshot(loaded.state, { detail: true })).toEqual(renderSnapshot(expected, { detail: true }));
    });

    it("loads many jobs side by side: heads read together, the parts of jobs without labels read together by key, and queries only for jobs that count tasks", async () => {
      const jobIds = Array.from({ length: 120 }, (_, n) => `job-store-many-${n}`);
      const store = storeOf();
      for (const [n, jobId] of jobIds.entries()) {
        const e = eventFactory(jobId);
        const state = createJobState(jobId);
        const events = n % 3 === 0 ? [e.added(10, "t1", { label: "tiles" }), e.done(n % 10, "t1", { label: "tiles" })] : [e.plan(VIDEO_PLAN, { expect_originals: 1 }), e.original("f1", "video/mp4"), e.progress("encoded", "f1", [n % 100, 100])];
        reduce(state, events, NOW);
        await store.createJob(meta(jobId), state);
      }
      const sent: { name: string; sk?: string; from?: string }[] = [];
      const counting = new Proxy(table.client, {
        get(target, property, receiver) {
          if (property !== "send") return Reflect.get(target, property, receiver);
          return (command: { constructor: { name: string }; input: { ExpressionAttributeValues?: Record<string, { S?: string }> } }) => {
            sent.push({ name: command.constructor.name, sk: command.input.ExpressionAttributeValues?.[":prefix"]?.S, from: command.input.ExpressionAttributeValues?.[":from"]?.S });
            return target.send(command as never);
          };
        },
      });
      const loaded = await Promise.all(jobIds.map((jobId) => createDynamoStore({ client: counting, tableName: table.name, now: Date.now }).loadJob(ref(jobId))));
      expect(sent.filter(({ name }) => name === "GetItemCommand")).toHaveLength(0);
      const oneStore = createDynamoStore({ client: counting, tableName: table.name, now: Date.now });
      sent.length = 0;
      const together = await Promise.all(jobIds.map((jobId) => oneStore.loadJob(ref(jobId))));
      // 120 heads in two BatchGetItem requests (100 keys each at most), not 120 reads; then the one
      // part of each of the 80 jobs without labels in a third; only the 40 that count tasks query.
      expect(sent.filter(({ name }) => name === "BatchGetItemCommand")).toHaveLength(3);
      expect(sent.filter(({ from }) => from === "L#")).toHaveLength(40);
      expect(sent.filter(({ sk }) => sk === "T#")).toHaveLength(40);
      expect(sent.filter(({ name }) => name === "QueryCommand")).toHaveLength(80);
      for (const [n, job] of together.entries()) {
        if (job === null || job === "busy") throw new Error(`job read: ${job}`);
        expect(renderSnapshot(job.state)).toEqual(renderSnapshot((loaded[n] as Exclude<(typeof loaded)[number], null | "busy">).state));
        if (n % 3 === 0) expect(renderSnapshot(job.state).indicators).toEqual([{ label: "tiles", done: n % 10, total: 10 }]);
      }
    });

    it("announces jobs in writes of 25, sends again what DynamoDB left unprocessed, and reports what it could not write", async () => {
      const metas = Array.from({ length: 60 }, (_, n) => meta(`job-feed-${n}`, "t-feed"));
      const requests: number[] = [];
      let unprocessedLeft = 2; // the first two requests leave their last 5 items unprocessed, as throttled writes are
      let failing = false;
      const throttling = new Proxy(table.client, {
        get(target, property, receiver) {
          if (property !== "send") return Reflect.get(target, property, receiver);
          return async (command: { constructor: { name: string }; input: { RequestItems?: Record<string, { PutRequest?: { Item?: unknown } }[]> } }) => {
            if (command.constructor.name !== "BatchWriteItemCommand") return target.send(command as never);
            if (failing) throw Object.assign(new Error("Throughput exceeds the current capacity"), { name: "ThrottlingException" });
            const writes = command.input.RequestItems![table.name]!;
            requests.push(writes.length);
            if (unprocessedLeft-- <= 0) return target.send(command as never);
            const kept = writes.slice(0, -5);
            await target.send(new BatchWriteItemCommand({ RequestItems: { [table.name]: kept as never } }));
            return { UnprocessedItems: { [table.name]: writes.slice(-5) } };
          };
        },
      });
      const feed = createDynamoStore({ client: throttling, tableName: table.name, now: Date.now }).changeFeed;
      const result = await feed.markChanged(metas.map((job, n) => ({ meta: job, version: n + 1 })), NOW);
      expect(result.unannounced).toEqual([]);
      // 60 markers: 25 + 25 + 10, and the 5 + 5 left unprocessed sent again.
      expect(requests.slice(0, 3).sort((a, b) => b - a)).toEqual([25, 25, 10]);
      expect(requests.slice(3)).toEqual([5, 5]);
      const announced = (await feed.changedJobs()).filter((job) => job.tenant === "t-feed");
      expect(announced.map(({ jobId, version }) => [jobId, version]).sort()).toEqual(metas.map((job, n) => [job.jobId, n + 1]).sort());

      failing = true;
      const failed = await feed.markChanged([{ meta: metas[0]!, version: 99 }], NOW);
      expect(failed.unannounced.map((change) => change.version)).toEqual([99]);
      expect(String(failed.failure)).toMatch(/Throughput exceeds/);
      expect((await feed.changedJobs()).find((job) => job.jobId === metas[0]!.jobId)?.version).toBe(1);
      for (const job of announced) await feed.clearChanged(job, job.version);
    });

    it("refuses to create a job whose id the same tenant has taken, and keeps tenants' jobs of one id apart", async () => {
      const store = storeOf();
      const state = createJobState("job-store-2");
      expect(await store.createJob(meta("job-store-2", "t1", "a"), state)).toBe(true);
      expect(await store.createJob(meta("job-store-2", "t1", "b"), state)).toBe(false);
      expect((await store.loadForBatch(ref("job-store-2"), []))?.meta.incarnation).toBe("a");
      expect(await store.loadForBatch(ref("job-store-2", "t2"), [])).toBeNull();
      expect(await store.createJob(meta("job-store-2", "t2", "c"), createJobState("job-store-2"))).toBe(true);
      expect((await store.loadForBatch(ref("job-store-2", "t2"), []))?.meta.incarnation).toBe("c");
    });

    it("never reads a head and parts of two versions: a write interrupted before its head reads as busy until the batch is applied again", async () => {
      const e = eventFactory("job-store-7");
      const state = createJobState("job-store-7", { partCount: 4 });
      reduce(state, [e.plan(VIDEO_PLAN, { expect_originals: 2 }), e.original("f1", "video/mp4"), e.original("f2", "image/png")], NOW);
      await storeOf().createJob(meta("job-store-7"), state);
      // A process that dies right before writing the head: its parts are stored, its head is not.
      let isDyingAtHead = true;
      const dying = new Proxy(table.client, {
        get(target, property, receiver) {
          if (property !== "send") return Reflect.get(target, property, receiver);
          return async (command: { constructor: { name: string }; input: { Item?: { sk?: { S?: string } } } }) => {
            if (isDyingAtHead && command.constructor.name === "PutItemCommand" && command.input.Item?.sk?.S === "HEAD") throw new Error("the process died");
            return target.send(command as never);
          };
        },
      });
      const batch = [e.completed("resized", "f2"), e.progress("encoded", "f1", [50, 100])];
      const torn = createDynamoStore({ client: dying, tableName: table.name, now: Date.now });
      const job = (await torn.loadForBatch(ref("job-store-7"), batch))!;
      reduce(job.state, batch, NOW + 1000);
      await expect(torn.save(job, NOW + 1000)).rejects.toThrow("the process died");
      expect(await storeOf().loadJob(ref("job-store-7"))).toBe("busy");
      // The batch comes back and is applied again: the job reads whole, at the new version.
      isDyingAtHead = false;
      await applyBatch(storeOf(), "job-store-7", batch, NOW + 2000);
      const read = await storeOf().loadJob(ref("job-store-7"));
      if (read === null || read === "busy") throw new Error(`job read: ${read}`);
      const expected = fold([[e.plan(VIDEO_PLAN, { expect_originals: 2 }), e.original("f1", "video/mp4"), e.original("f2", "image/png")], batch], "job-store-7");
      expect(renderSnapshot(read.state).progress_per_original_file).toEqual(renderSnapshot(expected).progress_per_original_file);
    });

    it("answers null for a job it does not have", async () => {
      const store = storeOf();
      expect(await store.loadForBatch(ref("nope"), [])).toBeNull();
      expect(await store.loadJob(ref("nope"))).toBeNull();
    });

    it("lets a new job take the id of an expired one, and shows it nothing the expired one left", async () => {
      const store = storeOf();
      const e = eventFactory("job-store-6");
      const old = createJobState("job-store-6");
      reduce(old, [e.plan(VIDEO_PLAN, { expect_originals: 1 }), e.original("f1", "video/mp4")], NOW);
      // Created long ago: its head expired (TTL deletes expired items only eventually, so it is still there).
      const longAgo = NOW - 400 * 24 * 3600 * 1000;
      expect(await store.createJob({ ...meta("job-store-6", "t1", "old"), createdAtMs: longAgo }, old)).toBe(true);
      await store.rejections.record([{ tenant: "t1", jobId: "job-store-6", incarnation: "old", code: "invalid_event", reason: "old", source: "sqs:x:0", excerpt: "{}", atMs: longAgo }]);
      expect(await store.loadJob(ref("job-store-6"))).toBeNull();
      const fresh = createJobState("job-store-6");
      reduce(fresh, [e.plan(VIDEO_PLAN)], NOW);
      expect(await store.createJob(meta("job-store-6", "t1", "new"), fresh)).toBe(true);
      const loaded = await store.loadJob(ref("job-store-6"));
      if (loaded === null || loaded === "busy") throw new Error(`job read: ${loaded}`);
      expect(loaded.meta.incarnation).toBe("new");
      expect(renderSnapshot(loaded.state).progress_per_original_file).toEqual([]);
      expect(await store.rejections.list("t1", loaded.meta, 10)).toEqual([]);
    });

    it("lets only one of two concurrent writers of the same part win", async () => {
      const store = storeOf();
      const e = eventFactory("job-store-3");
      const state = createJobState("job-store-3");
      reduce(state, [e.plan(VIDEO_PLAN)], NOW);
      await store.createJob(meta("job-store-3"), state);
      const first = [e.progress("encoded", "f1", [10, 100])];
      const second = [e.progress("encoded", "f1", [20, 100])];
      const a = (await store.loadForBatch(ref("job-store-3"), first))!;
      const b = (await store.loadForBatch(ref("job-store-3"), second))!;
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
      await store.createJob(meta("job-store-4"), state);
      const batch = [e.original("f1", "video/mp4"), e.progress("encoded", "f1", [10, 100])];
      await applyBatch(store, "job-store-4", batch, NOW + 1);
      const writesBefore = store.metrics.writes;
      await applyBatch(store, "job-store-4", batch, NOW + 2);
      expect(store.metrics.writes).toBe(writesBefore);
    });

    it("records rejections under their job or their tenant and lists them newest first", async () => {
      const store = storeOf();
      const job = meta("job-store-5");
      await store.rejections.record([
        { tenant: "t1", jobId: "job-store-5", incarnation: job.incarnation, code: "invalid_event", reason: "progress[1]: too small", source: "sqs:m1:0", excerpt: "{}", atMs: NOW },
        { tenant: "t1", jobId: "job-store-5", incarnation: job.incarnation, code: "too_many_labels", reason: "late", source: "sqs:m2:0", excerpt: "{}", atMs: NOW + 1 },
        { tenant: "t1", jobId: "ghost", incarnation: null, code: "unknown_job", reason: "never declared", source: "sqs:m3:0", excerpt: "{}", atMs: NOW + 2 },
      ]);
      const listed = await store.rejections.list("t1", job, 10);
      expect(listed.map((r) => r.code)).toEqual(["too_many_labels", "invalid_event"]);
      expect(listed[1]).toMatchObject({ reason: "progress[1]: too small", source: "sqs:m1:0" });
      expect((await store.rejections.list("t1", null, 10)).map((r) => [r.jobId, r.code])).toEqual([["ghost", "unknown_job"]]);
      expect(await store.rejections.list("t2", null, 10)).toEqual([]);
    });
  });
}
