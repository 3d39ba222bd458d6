/**
 * Expiry follows the job's last activity (docs/operating.md, "Expiry": nothing outlives its job, nothing dies
 * before it; expiry without rewrites): a job active for 60 days (an injected clock) loses
 * nothing though most of its parts were last written on day 0, no write rewrites the parts it
 * did not touch, and once the job has been idle past the retention its head expires and the
 * reaper removes everything it owned. DynamoDB's TTL deletion is played by a scan that deletes
 * every item whose `expires_at` has passed (dynalite has no TTL), and its stream record by the
 * reaper's input built from the deleted head. On dynalite and (where Java exists) DynamoDB Local.
 */
import { describe, expect, it } from "vitest";
import { DeleteItemCommand, ScanCommand, type AttributeValue } from "@aws-sdk/client-dynamodb";
import type { DynamoDBStreamEvent } from "aws-lambda";
import type { Event } from "../core/contract/events.ts";
import { reduce } from "../core/estimator/reduce.ts";
import { partOf } from "../core/estimator/partition.ts";
import { renderSnapshot } from "../core/estimator/snapshot.ts";
import { createJobState } from "../core/estimator/state.ts";
import { createDynamoStore } from "../functions/adapters/dynamo/store.ts";
import { createReaper } from "../functions/reaper.ts";
import { silentLog } from "../functions/config.ts";
import { DYNAMO_BACKENDS, useTable, type TestTable } from "./support/dynamo.ts";
import { eventFactory, VIDEO_PLAN } from "./support/events.ts";
import { fold } from "./support/fold.ts";

const DAY_MS = 24 * 3600_000;
const START = Date.parse("2026-11-22T10:00:00.000Z");
type Item = Record<string, AttributeValue>;

async function scanAll(table: TestTable): Promise<Item[]> {
  const items: Item[] = [];
  let start: Item | undefined;
  do {
    const page = await table.client.send(new ScanCommand({ TableName: table.name, ExclusiveStartKey: start, ConsistentRead: true }));
    items.push(...(page.Items ?? []));
    start = page.LastEvaluatedKey;
  } while (start !== undefined);
  return items;
}

/** What DynamoDB's TTL does, at `nowMs`: deletes every expired item; the deleted items come back (the stream's old images). */
async function expireItems(table: TestTable, nowMs: number): Promise<Item[]> {
  const expired = (await scanAll(table)).filter((item) => item.expires_at?.N !== undefined && Number(item.expires_at.N) * 1000 < nowMs);
  for (const item of expired) await table.client.send(new DeleteItemCommand({ TableName: table.name, Key: { pk: item.pk!, sk: item.sk! } }));
  return expired;
}

/** The stream records DynamoDB writes for TTL deletions (the service deletes, `OLD_IMAGE`). */
const ttlRemovals = (items: readonly Item[]): DynamoDBStreamEvent => ({
  Records: items.map((item) => ({
    eventName: "REMOVE",
    userIdentity: { type: "Service", principalId: "dynamodb.amazonaws.com" },
    dynamodb: { Keys: { pk: item.pk, sk: item.sk } as never, OldImage: item as never },
  })),
});

for (const backend of DYNAMO_BACKENDS) {
  describe(`expiry on ${backend.name}`, () => {
    const table = useTable(backend);

    it("keeps every part of a job active for 60 days, rewriting only what each batch touches, and reaps it all once it has been idle past the retention", async () => {
      let nowMs = START;
      const store = createDynamoStore({ client: table.client, tableName: table.name, now: () => nowMs });
      const jobId = "long-lived";
      const ref = { tenant: "t1", jobId };
      const e = eventFactory(jobId, START);
      // 1,000 announced originals: 8 parts. Eight files, declared on day 0, land in several of them.
      const files = Array.from({ length: 8 }, (_, i) => `f${i + 1}`);
      const declared = e.plan(VIDEO_PLAN, { expect_originals: 1000, originals: files.map((original_id) => ({ original_id, mime: "video/mp4" })) });
      const state = createJobState(jobId, { partCount: 8 });
      reduce(state, [declared], nowMs);
      expect(await store.createJob({ ...ref, incarnation: "inc-1", createdAtMs: nowMs }, state)).toBe(true);
      const busyFile = files[0]!;
      const idleParts = new Set(files.slice(1).map((file) => partOf(file, 8)).filter((part) => part !== partOf(busyFile, 8)));
      expect(idleParts.size).toBeGreaterThan(2);

      const batches: Event[][] = [[declared]];
      for (let day = 1; day <= 60; day++) {
        nowMs = START + day * DAY_MS;
        const at = new Date(nowMs).toISOString();
        const batch = [e.progress("encoded", busyFile, [day, 100], { at }), e.progress("thumbs", busyFile, [day, 100], { at })];
        batches.push(batch);
        const job = await store.loadForBatch(ref, batch);
        reduce(job!.state, batch, nowMs);
        const writesBefore = store.metrics.writes;
        await store.save(job!, nowMs);
        // Expiry without rewrites: one part and the head, whatever the job's age.
        expect(store.metrics.writes - writesBefore).toBe(2);
        expect(await expireItems(table, nowMs)).toEqual([]);
      }
      const read = await store.loadJob(ref);
      if (read === null || read === "busy") throw new Error(`day 60: the job read ${read}`);
      // Every file and figure as a fold of the same batches gives them (committed at other times: `updated_at` aside).
      const { updated_at: updatedAt, ...snapshot } = renderSnapshot(read.state, { detail: true });
      const { updated_at: _foldedAt, ...expected } = renderSnapshot(fold(batches, jobId), { detail: true });
      expect(snapshot).toEqual(expected);
      expect(updatedAt).toBe(new Date(nowMs).toISOString());
      expect(read.state.originals.size).toBe(8);

      // Idle since day 60: past the 30 days of retention its head expires, and the reaper takes the rest.
      nowMs = START + 91 * DAY_MS;
      expect(await store.loadJob(ref)).toBeNull();
      const removed = await expireItems(table, nowMs);
      expect(removed.map((item) => item.sk!.S)).toEqual(["HEAD"]);
      const reaper = createReaper({ store, log: silentLog });
      expect(await reaper(ttlRemovals(removed))).toEqual({ jobs: 1, items: expect.any(Number) });
      const left = (await scanAll(table)).filter((item) => item.pk!.S!.startsWith(`JOB#t1#${jobId}`) || item.sk!.S!.includes(`#${jobId}#`));
      expect(left).toEqual([]);
    });

    it("lets a new job take an expired job's id before the reaper ran, seeing nothing of the old one", async () => {
      let nowMs = START;
      const store = createDynamoStore({ client: table.client, tableName: table.name, now: () => nowMs });
      const ref = { tenant: "t1", jobId: "reused" };
      const e = eventFactory("reused", START);
      const old = createJobState("reused");
      reduce(old, [e.declared({ originals: [{ original_id: "old-file" }] })], nowMs);
      expect(await store.createJob({ ...ref, incarnation: "inc-old", createdAtMs: nowMs }, old)).toBe(true);
      nowMs += 31 * DAY_MS;
      const fresh = createJobState("reused");
      reduce(fresh, [e.declared({ originals: [{ original_id: "new-file" }] })], nowMs);
      expect(await store.createJob({ ...ref, incarnation: "inc-new", createdAtMs: nowMs }, fresh)).toBe(true);
      const read = await store.loadJob(ref);
      if (read === null || read === "busy") throw new Error(`read ${read}`);
      expect([...read.state.originals.keys()]).toEqual(["new-file"]);
    });
  });
}
