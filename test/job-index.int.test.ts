/**
 * A refused request leaves no trace, and the job list lists every job once (docs/storage.md): creates
 * refused as 409 (the TypeScript SDK's retry of `createJob` provokes one on purpose) write
 * nothing, concurrent creates of one id leave one job listed once, and a list survives entries
 * left by a crash or by an older release. Over the composition root, on dynalite and (where Java
 * exists) DynamoDB Local.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import fc from "fast-check";
import { PutItemCommand, ScanCommand, type AttributeValue } from "@aws-sdk/client-dynamodb";
import { ALL_SCOPES } from "../core/contract/admin.ts";
import { createServices, type Services } from "../functions/composition.ts";
import { silentLog } from "../functions/config.ts";
import { testConfig } from "./support/config.ts";
import { randomUUID } from "node:crypto";
import { ensureTable } from "../functions/adapters/dynamo/table.ts";
import { DYNAMO_BACKENDS, type TestTable } from "./support/dynamo.ts";
import { startTestQueue, type TestQueue } from "./support/sqs.ts";
import { eventFactory } from "./support/events.ts";

for (const backend of DYNAMO_BACKENDS) describe(backend.name, () => {
  let dynamo: { endpoint: string; close(): Promise<void> };
  let table: TestTable;
  let queue: TestQueue;
  let services: Services;
  let app: ReturnType<Services["api"]>;

  beforeAll(async () => {
    dynamo = await backend.start();
    queue = await startTestQueue();
    const tableName = `headway-${randomUUID().slice(0, 8)}`;
    services = createServices(testConfig({ dynamodbEndpoint: dynamo.endpoint, tableName, sqsEndpoint: queue.endpoint, queueUrl: queue.url }), { log: silentLog, now: Date.now });
    // The services' own client (DynamoDB Local keeps one database per access key and region).
    const client = services.adapters.clients().dynamodb;
    await ensureTable(client, tableName);
    table = { name: tableName, client, close: async () => {} };
    app = services.api();
  });
  afterAll(async () => {
    await services?.close();
    await queue?.close();
    await table?.close();
    await dynamo?.close();
  });

  const call = (key: string, method: string, path: string, body?: unknown) =>
    app.request(path, { method, headers: { authorization: `Bearer ${key}`, "content-type": "application/json" }, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });

  /** Every item of the table, as text (a refused request must not change it). */
  async function everyItem(): Promise<string[]> {
    const items: Record<string, AttributeValue>[] = [];
    let start: Record<string, AttributeValue> | undefined;
    do {
      const page = await table.client.send(new ScanCommand({ TableName: table.name, ExclusiveStartKey: start, ConsistentRead: true }));
      items.push(...(page.Items ?? []));
      start = page.LastEvaluatedKey;
    } while (start !== undefined);
    return items.map((item) => JSON.stringify(item)).sort();
  }

  /** Every page of the tenant's list. */
  async function listAll(key: string, limit = 3): Promise<string[]> {
    const ids: string[] = [];
    let cursor: string | null = null;
    do {
      const response = await call(key, "GET", `/v1/jobs?limit=${limit}${cursor === null ? "" : `&cursor=${cursor}`}`);
      expect(response.status, JSON.stringify(await response.clone().json())).toBe(200);
      const page = (await response.json()) as { jobs: { job_id: string }[]; next_cursor: string | null };
      ids.push(...page.jobs.map((job) => job.job_id));
      cursor = page.next_cursor;
    } while (cursor !== null);
    return ids;
  }

  const tenantKey = async (tenant: string) => {
    const key = `key-of-${tenant}`;
    await services.adapters.apiKeys().putKey(key, tenant, "test", ALL_SCOPES);
    return key;
  };

  describe("refused creates", () => {
    it("writes nothing anywhere for a create refused as 409, and the list stays whole", async () => {
      const key = await tenantKey("refused");
      const declaration = { job_id: "x", originals: [{ original_id: "f1", mime: "image/png" }, { original_id: "f2" }], notify_url: "https://example.com/hook" };
      expect((await call(key, "POST", "/v1/jobs", declaration)).status).toBe(201);
      const before = await everyItem();
      for (let i = 0; i < 3; i++) {
        const again = await call(key, "POST", "/v1/jobs", declaration);
        expect(again.status).toBe(409);
        expect(await again.json()).toMatchObject({ error: { code: "job_exists" } });
      }
      expect(await everyItem()).toEqual(before);
      expect(await listAll(key)).toEqual(["x"]);
    });

    it("leaves one job listed once when creates of one id race, through the API and the queue alike", async () => {
      const key = await tenantKey("racing");
      const store = services.adapters.store();
      const answers = await Promise.all(Array.from({ length: 6 }, () => call(key, "POST", "/v1/jobs", { job_id: "raced", originals: [{ original_id: "f1" }] })));
      expect(answers.map((answer) => answer.status).sort()).toEqual([201, 409, 409, 409, 409, 409]);
      // A `job.declared` on the queue for a job that exists is applied to it; its refused create leaves nothing.
      const before = await everyItem();
      const reduce = services.reducer();
      const body = JSON.stringify(eventFactory("raced").declared({ originals: [{ original_id: "f1" }] }));
      const record = { messageId: "m1", receiptHandle: "r1", body, attributes: { ApproximateReceiveCount: "1", SentTimestamp: String(Date.now()) }, messageAttributes: { tenant: { stringValue: "racing", dataType: "String" } } };
      expect(await reduce({ Records: [record as never] })).toEqual({ batchItemFailures: [] });
      const after = (await everyItem()).filter((item) => !before.includes(item));
      // Only the job's own items moved (its head and parts under its incarnation, its change marker): no second index entry.
      expect(after.filter((item) => item.includes('"JOBS#'))).toEqual([]);
      expect(await listAll(key)).toEqual(["raced"]);
      expect(await store.loadJob({ tenant: "racing", jobId: "raced" })).not.toBeNull();
    });

    it("keeps the list whole whatever creates, refusals and retries come, in any order and at once (property)", async () => {
      let run = 0;
      await fc.assert(
        fc.asyncProperty(fc.array(fc.array(fc.constantFrom("a", "b", "c", "d"), { minLength: 1, maxLength: 4 }), { minLength: 1, maxLength: 6 }), async (rounds) => {
          const tenant = `prop-${++run}`;
          const key = await tenantKey(tenant);
          const created = new Set<string>();
          for (const ids of rounds) {
            // A round's creates go out at once: the same id twice in a round races with itself.
            const answers = await Promise.all(ids.map((jobId) => call(key, "POST", "/v1/jobs", { job_id: jobId })));
            answers.forEach((answer, index) => {
              expect([201, 409]).toContain(answer.status);
              if (answer.status === 201) {
                expect(created.has(ids[index]!)).toBe(false);
                created.add(ids[index]!);
              }
            });
          }
          const listed = await listAll(key, 2);
          expect([...listed].sort()).toEqual([...created].sort());
          expect(new Set(listed).size).toBe(listed.length);
        }),
        { numRuns: 25, seed: 25 },
      );
    }, 60_000);
  });

  describe("a list that meets entries it cannot show", () => {
    it("lists a job once when an older release left a second entry of it, and drops entries whose job never came to be", async () => {
      const key = await tenantKey("leftovers");
      expect((await call(key, "POST", "/v1/jobs", { job_id: "kept" })).status).toBe(201);
      const entry = (createdAtMs: number, jobId: string, incarnation: string) =>
        table.client.send(new PutItemCommand({ TableName: table.name, Item: { pk: { S: "TENANT#leftovers" }, sk: { S: `JOBS#${String(createdAtMs).padStart(15, "0")}#${jobId}` }, job: { S: jobId }, inc: { S: incarnation } } }));
      // What a refused create of an older release left (another incarnation of the same id), and a create that died before its head.
      await entry(Date.now() + 5, "kept", "refused-incarnation");
      await entry(Date.now() - 3_600_000, "never-made", "dead-incarnation");
      expect(await listAll(key, 1)).toEqual(["kept"]);
      expect(await listAll(key, 10)).toEqual(["kept"]);
    });
  });
});
