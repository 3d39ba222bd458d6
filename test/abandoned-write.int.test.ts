/**
 * A job whose writer died between its parts and its head reads whole again within the visibility
 * timeout plus one tick, without waiting for a redelivery that may never come (its batch went to
 * the DLQ): the first reader that finds the abandoned write rolls it forward, committing what
 * it stored as a new version and announcing it. A redelivery that does come later (the DLQ
 * redriven) applies on top and ends where a fault-free run ends. On dynalite and (where Java
 * exists) DynamoDB Local, with an injected clock.
 */
import { describe, expect, it } from "vitest";
import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import type { Event } from "../core/contract/events.ts";
import { reduce } from "../core/estimator/reduce.ts";
import { partOf } from "../core/estimator/partition.ts";
import { renderSnapshot } from "../core/estimator/snapshot.ts";
import { createJobState } from "../core/estimator/state.ts";
import { createDynamoLease } from "../functions/adapters/dynamo/lease.ts";
import { createDynamoStore } from "../functions/adapters/dynamo/store.ts";
import { ABANDONED_WRITE_MS } from "../functions/adapters/dynamo/versions.ts";
import type { RenderedJob } from "../functions/ticker/channels/channel.ts";
import { silentLog } from "../functions/config.ts";
import { EVENTS } from "../functions/settings.ts";
import { createTicker } from "../functions/ticker/index.ts";
import { DYNAMO_BACKENDS, useTable } from "./support/dynamo.ts";
import { eventFactory, VIDEO_PLAN } from "./support/events.ts";
import { fold } from "./support/fold.ts";

const START = Date.parse("2026-11-22T10:00:00.000Z");

/** The real client, but the process dies (the request never leaves) at the first write whose sort key `dieAt` picks. */
function dyingClient(real: DynamoDBClient, dieAt: (sk: string) => boolean): DynamoDBClient {
  let isDead = false;
  return new Proxy(real, {
    get(target, property, receiver) {
      if (property !== "send") return Reflect.get(target, property, receiver);
      return async (command: { constructor: { name: string }; input: { Item?: { sk?: { S?: string } } } }) => {
        if (isDead) throw new Error("the process is dead");
        if (command.constructor.name === "PutItemCommand" && dieAt(command.input.Item?.sk?.S ?? "")) {
          isDead = true;
          throw new Error("the process died");
        }
        return target.send(command as never);
      };
    },
  });
}

for (const backend of DYNAMO_BACKENDS) {
  describe(`an abandoned write on ${backend.name}`, () => {
    const table = useTable(backend);

    /** A job of four files over four parts, and a batch touching them all whose writer dies before its head. */
    async function tornJob(jobId: string, clock: { nowMs: number }, dieAt: (sk: string) => boolean = (sk) => sk === "HEAD") {
      const store = createDynamoStore({ client: table.client, tableName: table.name, now: () => clock.nowMs });
      const e = eventFactory(jobId, START);
      const files = ["f1", "f2", "f3", "f4"];
      const declared = [e.plan(VIDEO_PLAN, { expect_originals: 4 }), ...files.map((file) => e.original(file, "video/mp4"))];
      const state = createJobState(jobId, { partCount: 4 });
      reduce(state, declared, clock.nowMs);
      expect(await store.createJob({ tenant: "t1", jobId, incarnation: `inc-${jobId}`, createdAtMs: clock.nowMs }, state)).toBe(true);
      expect(new Set(files.map((file) => partOf(file, 4))).size).toBeGreaterThan(1);
      const batch: Event[] = files.map((file, i) => e.progress("encoded", file, [10 * (i + 1), 100]));
      clock.nowMs += 1000;
      const dying = createDynamoStore({ client: dyingClient(table.client, dieAt), tableName: table.name, now: () => clock.nowMs });
      const job = (await dying.loadForBatch({ tenant: "t1", jobId }, batch))!;
      reduce(job.state, batch, clock.nowMs);
      await expect(dying.save(job, clock.nowMs)).rejects.toThrow("the process died");
      return { store, declared, batch, e };
    }

    it("reads busy while the writer may still live, and whole, rolled forward and announced, once it cannot", async () => {
      const clock = { nowMs: START };
      const { store, declared, batch } = await tornJob("torn-1", clock);
      const ref = { tenant: "t1", jobId: "torn-1" };
      expect(await store.loadJob(ref)).toBe("busy");
      clock.nowMs += ABANDONED_WRITE_MS - 1;
      expect(await store.loadJob(ref)).toBe("busy");
      clock.nowMs += 1;
      const read = await store.loadJob(ref);
      if (read === null || read === "busy") throw new Error(`read ${read}`);
      // Rolled forward: every part the dead write stored is in, as a new version of its own.
      expect(read.state.version).toBe(2);
      expect(renderSnapshot(read.state).progress_per_original_file).toEqual(renderSnapshot(fold([declared, batch], "torn-1")).progress_per_original_file);
      expect((await store.changeFeed.changedJobs()).find((job) => job.jobId === "torn-1")).toMatchObject({ version: 2 });
      // The head's copies were rebuilt too: a batch that loads one part commits the right combined figure.
      const e2 = eventFactory("torn-1", START + 60_000);
      const next = [e2.completed("encoded", "f1")];
      const job = (await store.loadForBatch(ref, next))!;
      reduce(job.state, next, clock.nowMs);
      await store.save(job, clock.nowMs);
      const after = await store.loadJob(ref);
      if (after === null || after === "busy") throw new Error(`read ${after}`);
      expect(renderSnapshot(after.state).progress_combined).toBe(renderSnapshot(fold([declared, batch, next], "torn-1")).progress_combined);
    });

    it("ends where a fault-free run ends when the batch is delivered again after all (the DLQ redriven)", async () => {
      const clock = { nowMs: START };
      const { store, declared, batch } = await tornJob("torn-2", clock);
      const ref = { tenant: "t1", jobId: "torn-2" };
      clock.nowMs += ABANDONED_WRITE_MS;
      expect(await store.loadJob(ref)).not.toBe("busy");
      const job = (await store.loadForBatch(ref, batch))!;
      reduce(job.state, batch, clock.nowMs);
      await store.save(job, clock.nowMs);
      const read = await store.loadJob(ref);
      if (read === null || read === "busy") throw new Error(`read ${read}`);
      const { updated_at: _a, eta_seconds: _b, ...snapshot } = renderSnapshot(read.state, { detail: true });
      const { updated_at: _c, eta_seconds: _d, ...expected } = renderSnapshot(fold([declared, batch], "torn-2"), { detail: true });
      expect({ ...snapshot, version: 0 }).toEqual({ ...expected, version: 0 });
    });

    it("is pushed by the ticker within the visibility timeout plus one tick", async () => {
      expect(ABANDONED_WRITE_MS).toBeLessThanOrEqual(EVENTS.visibilityTimeoutSeconds * 1000);
      const clock = { nowMs: START };
      const { store } = await tornJob("torn-3", clock);
      // Announced by an earlier batch, and read by every tick since.
      await store.changeFeed.markChanged([{ meta: { tenant: "t1", jobId: "torn-3", incarnation: "inc-torn-3", createdAtMs: START }, version: 1 }], clock.nowMs);
      const delivered: RenderedJob[] = [];
      const ticker = createTicker({
        store,
        changeFeed: store.changeFeed,
        lease: createDynamoLease({ client: table.client, tableName: table.name, name: "abandoned", now: () => clock.nowMs }),
        channels: [{ name: "recording", deliver: async (jobs) => (delivered.push(...jobs), { retry: new Set(), sent: jobs.length, dropped: 0 }) }],
        log: silentLog,
        now: () => clock.nowMs,
      });
      // A tick while the writer may live keeps the job for the next; the first tick once it cannot pushes it whole.
      const tornAtMs = clock.nowMs;
      await ticker.tick();
      await ticker.settled();
      expect(delivered.map((job) => job.job.jobId)).not.toContain("torn-3");
      clock.nowMs = tornAtMs + ABANDONED_WRITE_MS;
      await ticker.tick();
      await ticker.settled();
      expect(delivered.find((job) => job.job.jobId === "torn-3")?.state.version).toBe(2);
      await ticker.release();
    });

    it("rolls a split forward that died between its open head and the shrunk old part", async () => {
      const clock = { nowMs: START };
      const store = createDynamoStore({ client: table.client, tableName: table.name, now: () => clock.nowMs, splitItemBytes: 600 });
      const jobId = "torn-split";
      const ref = { tenant: "t1", jobId };
      const e = eventFactory(jobId, START);
      const created = createJobState(jobId);
      reduce(created, [e.plan(VIDEO_PLAN)], clock.nowMs);
      await store.createJob({ ...ref, incarnation: "inc-split", createdAtMs: clock.nowMs }, created);
      const batch = Array.from({ length: 200 }, (_, i) => e.original(`file-with-a-long-name-${String(i).padStart(3, "0")}`, "video/mp4"));
      // Dies at the first older part written after the head was written open.
      let headWrites = 0;
      const dying = createDynamoStore({
        client: dyingClient(table.client, (sk) => (sk === "HEAD" ? (headWrites++, false) : headWrites > 0 && sk.startsWith("P#"))),
        tableName: table.name,
        now: () => clock.nowMs,
        splitItemBytes: 600,
      });
      const job = (await dying.loadForBatch(ref, batch))!;
      reduce(job.state, batch, clock.nowMs);
      await expect(dying.save(job, clock.nowMs)).rejects.toThrow("the process died");
      expect(headWrites).toBe(1);
      expect(await store.loadJob(ref)).toBe("busy");
      clock.nowMs += ABANDONED_WRITE_MS;
      const read = await store.loadJob(ref);
      if (read === null || read === "busy") throw new Error(`read ${read}`);
      // What the dead write stored (the new parts) is in; the share it never wrote (the old part's) comes with the batch.
      expect(read.state.partCount).toBeGreaterThan(1);
      expect(read.state.originals.size).toBeGreaterThan(0);
      expect(read.state.originals.size).toBeLessThan(200);
      const again = (await store.loadForBatch(ref, batch))!;
      reduce(again.state, batch, clock.nowMs);
      await store.save(again, clock.nowMs);
      const whole = await store.loadJob(ref);
      if (whole === null || whole === "busy") throw new Error(`read ${whole}`);
      expect(whole.state.originals.size).toBe(200);
    });
  });
}
