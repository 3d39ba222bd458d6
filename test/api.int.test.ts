import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ReceiveMessageCommand, type SQSClient } from "@aws-sdk/client-sqs";
import { tokenKeysOf, verifyToken } from "../core/access/token.ts";
import { ALL_SCOPES } from "../core/contract/admin.ts";
import { createServices, type Services } from "../functions/composition.ts";
import { silentLog } from "../functions/config.ts";
import { testConfig } from "./support/config.ts";
import { newTable, startDynalite, type TestTable } from "./support/dynamo.ts";
import { startTestQueue, type TestQueue } from "./support/sqs.ts";
import { eventFactory, VIDEO_PLAN } from "./support/events.ts";

const SECRET = "test-token-secret";
let dynamo: { endpoint: string; close(): Promise<void> };
let table: TestTable;
let queue: TestQueue;
let services: Services;
let app: ReturnType<Services["api"]>;
let webhookEndpoints: ReturnType<Services["adapters"]["webhookEndpoints"]>;

const emulators = () => ({ dynamodbEndpoint: dynamo.endpoint, tableName: table.name, sqsEndpoint: queue.endpoint, queueUrl: queue.url });

beforeAll(async () => {
  dynamo = await startDynalite({ port: 0 });
  table = await newTable(dynamo.endpoint);
  queue = await startTestQueue();
  // The same wiring as the Lambdas and the sandbox: the composition root, configured for the test's emulators.
  services = createServices(
    testConfig(emulators(), { websocketUrl: "wss://ws.headway.test", tokenSecret: () => SECRET }),
    { log: silentLog, now: Date.now },
  );
  const apiKeys = services.adapters.apiKeys();
  await apiKeys.putKey("key-tenant-1", "tenant-1", "test", ALL_SCOPES);
  await apiKeys.putKey("key-tenant-2", "tenant-2", "test", ALL_SCOPES);
  webhookEndpoints = services.adapters.webhookEndpoints();
  app = services.api();
});
afterAll(async () => {
  await services?.close();
  await queue?.close();
  await table?.close();
  await dynamo?.close();
});

const call = (method: string, path: string, body?: unknown, key = "key-tenant-1") =>
  app.request(path, {
    method,
    headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
    ...(body === undefined ? {} : { body: typeof body === "string" ? body : JSON.stringify(body) }),
  });

async function drainQueue(client: SQSClient, url: string): Promise<string[]> {
  const bodies: string[] = [];
  for (;;) {
    const result = await client.send(new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }));
    if ((result.Messages ?? []).length === 0) return bodies;
    bodies.push(...result.Messages!.map((message) => message.Body!));
  }
}

describe("HTTP API", () => {
  it("creates a job and serves its snapshot", async () => {
    const created = await call("POST", "/v1/jobs", { job_id: "api-1", plan: { steps: VIDEO_PLAN }, expect_originals: 2, emit_execution_progress: true });
    expect(created.status).toBe(201);
    const body = (await created.json()) as { job_id: string; status_url: string; websocket_url: string; subscriber_token: string };
    expect(body).toMatchObject({ job_id: "api-1", status_url: "https://headway.test/v1/jobs/api-1", websocket_url: "wss://ws.headway.test" });
    const check = verifyToken(body.subscriber_token, tokenKeysOf(SECRET), Date.now());
    expect(check).toMatchObject({ ok: true, claims: { tenant: "tenant-1", jobIds: ["api-1"] } });
    const snapshot = await call("GET", "/v1/jobs/api-1");
    expect(snapshot.status).toBe(200);
    expect(await snapshot.json()).toMatchObject({ v: 1, job_id: "api-1", status: "declared", progress_combined: null, progress_per_original_file: [] });
  });

  it("pages the per-file list on request (files_page, files_per_page) and keeps it whole otherwise", async () => {
    const originals = Array.from({ length: 25 }, (_, i) => ({ original_id: `f${String(i).padStart(2, "0")}` }));
    expect((await call("POST", "/v1/jobs", { job_id: "api-paged", originals })).status).toBe(201);
    type Paged = { progress_per_original_file: { original_id: string }[]; files_page?: { index: number; count: number; total_files: number } };
    const whole = (await (await call("GET", "/v1/jobs/api-paged")).json()) as Paged;
    expect(whole.progress_per_original_file).toHaveLength(25);
    expect(whole.files_page).toBeUndefined();
    const last = (await (await call("GET", "/v1/jobs/api-paged?files_page=2&files_per_page=10")).json()) as Paged;
    expect(last.files_page).toEqual({ index: 2, count: 3, total_files: 25 });
    expect(last.progress_per_original_file.map((f) => f.original_id)).toEqual(["f20", "f21", "f22", "f23", "f24"]);
    const bad = await call("GET", "/v1/jobs/api-paged?files_page=-1");
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ error: { fields: [{ field: "files_page" }] } });
  });

  it("makes up a job id when none is given", async () => {
    const created = await call("POST", "/v1/jobs", {});
    expect(created.status).toBe(201);
    const { job_id } = (await created.json()) as { job_id: string };
    expect(job_id).toMatch(/^job_[0-9a-f]{32}$/);
  });

  it("refuses a job id that is taken", async () => {
    await call("POST", "/v1/jobs", { job_id: "api-dup" });
    const again = await call("POST", "/v1/jobs", { job_id: "api-dup" });
    expect(again.status).toBe(409);
    expect(await again.json()).toMatchObject({ error: { code: "job_exists" } });
  });

  it("names the offending fields of an invalid job", async () => {
    const response = await call("POST", "/v1/jobs", { plan: { steps: { a: { robot: "/x", use: "ghost" } } }, expect_originals: -1 });
    expect(response.status).toBe(400);
    const body = (await response.json()) as { error: { fields: { field: string }[] } };
    expect(body.error.fields.map((f) => f.field).sort()).toEqual(["expect_originals", "plan.steps.a.use"]);
  });

  it("answers events for a job that does not exist with what to do: the POST /v1/jobs to send, built from their job.declared", async () => {
    const e = eventFactory("new-by-events");
    const declared = { ...e.declared(), plan: { steps: VIDEO_PLAN }, expect_originals: 1 };
    const response = await call("POST", "/v1/jobs/new-by-events/events", { v: 1, events: [declared, e.sealed()] });
    expect(response.status).toBe(404);
    const { error } = (await response.json()) as { error: { code: string; message: string } };
    expect(error.code).toBe("job_not_found");
    expect(error.message).toContain("no job new-by-events: create it first with POST /v1/jobs ");
    const suggested = JSON.parse(/POST \/v1\/jobs (\{.*\}) \(over HTTP/.exec(error.message)![1]!) as unknown;
    expect(suggested).toEqual({ job_id: "new-by-events", plan: { steps: VIDEO_PLAN }, expect_originals: 1 });
    // The suggestion is a request the API takes, and the events then go in.
    expect((await call("POST", "/v1/jobs", suggested)).status).toBe(201);
    expect((await call("POST", "/v1/jobs/new-by-events/events", { v: 1, events: [declared, e.sealed()] })).status).toBe(202);

    const plain = (await (await call("POST", "/v1/jobs/never-made/events", eventFactory("never-made").sealed())).json()) as { error: { message: string } };
    expect(plain.error.message).toBe('no job never-made: create it first with POST /v1/jobs {"job_id":"never-made"}, then send its events here');
  });

  it("answers 401 without a valid API key and 404 for another tenant's job, on every route", async () => {
    expect((await call("GET", "/v1/jobs/api-1", undefined, "wrong")).status).toBe(401);
    expect((await app.request("/v1/jobs/api-1")).status).toBe(401);
    for (const [method, path, body] of [
      ["GET", "/v1/jobs/api-1", undefined],
      ["POST", "/v1/jobs/api-1/events", eventFactory("api-1").sealed()],
      ["GET", "/v1/jobs/api-1/rejections", undefined],
      ["GET", "/v1/jobs/api-1/webhooks", undefined],
      ["GET", "/v1/jobs/api-1/stream", undefined],
      ["POST", "/v1/tokens", { job_ids: ["api-1"] }],
    ] as const) {
      const response = await call(method, path, body, "key-tenant-2");
      expect(response.status, `${method} ${path}`).toBe(404);
    }
    expect((await call("GET", "/v1/jobs/nope")).status).toBe(404);
  });

  it("lets two tenants use the same job id, each seeing only its own job (an id is no existence oracle)", async () => {
    expect((await call("POST", "/v1/jobs", { job_id: "shared-id", plan: { steps: { a: { robot: "/image/resize", use: ":original" } } } })).status).toBe(201);
    expect((await call("POST", "/v1/jobs", { job_id: "shared-id" }, "key-tenant-2")).status).toBe(201);
    const mine = (await (await call("GET", "/v1/jobs/shared-id")).json()) as { status: string };
    const theirs = (await (await call("GET", "/v1/jobs/shared-id", undefined, "key-tenant-2")).json()) as { status: string };
    expect([mine.status, theirs.status]).toEqual(["declared", "declared"]);
    expect((await call("POST", "/v1/jobs", { job_id: "shared-id" }, "key-tenant-2")).status).toBe(409);
  });

  it("lists the tenant's jobs newest first, a page at a time, with their status and figures, and no other tenant's", async () => {
    const key = "key-tenant-3";
    await services.adapters.apiKeys().putKey(key, "tenant-3", "test", ALL_SCOPES);
    for (const jobId of ["list-a", "list-b", "list-c"]) {
      expect((await call("POST", "/v1/jobs", { job_id: jobId, plan: { steps: { a: { robot: "/image/resize", use: ":original" } } }, originals: [{ original_id: "f1", mime: "image/png" }] }, key)).status).toBe(201);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    await call("POST", "/v1/jobs", { job_id: "list-a" }, "key-tenant-2");
    const first = (await (await call("GET", "/v1/jobs?limit=2", undefined, key)).json()) as { jobs: { job_id: string; status: string; progress_combined: number | null }[]; next_cursor: string | null };
    expect(first.jobs.map((job) => job.job_id)).toEqual(["list-c", "list-b"]);
    expect(first.jobs[0]).toMatchObject({ status: "executing", progress_combined: 0, version: 1 });
    expect(first.next_cursor).not.toBeNull();
    const second = (await (await call("GET", `/v1/jobs?limit=2&cursor=${first.next_cursor}`, undefined, key)).json()) as { jobs: { job_id: string }[]; next_cursor: string | null };
    expect(second.jobs.map((job) => job.job_id)).toEqual(["list-a"]);
    expect((await call("GET", "/v1/jobs?limit=0", undefined, key)).status).toBe(400);
    expect((await call("GET", "/v1/jobs?cursor=bogus", undefined, key)).status).toBe(400);
  });

  it("names the tenant on every message it enqueues", async () => {
    await drainQueue(queue.client, queue.url);
    await call("POST", "/v1/jobs", { job_id: "api-tenant-attr" }, "key-tenant-2");
    expect((await call("POST", "/v1/jobs/api-tenant-attr/events", eventFactory("api-tenant-attr").sealed(), "key-tenant-2")).status).toBe(202);
    const result = await queue.client.send(new ReceiveMessageCommand({ QueueUrl: queue.url, MaxNumberOfMessages: 10, MessageAttributeNames: ["All"] }));
    expect(result.Messages?.map((message) => message.MessageAttributes?.tenant?.StringValue)).toEqual(["tenant-2"]);
  });

  it("enqueues valid events as envelopes of the job", async () => {
    await drainQueue(queue.client, queue.url);
    const e = eventFactory("api-1");
    const events = [e.original("f1", "video/mp4"), e.original("f2", "image/png"), e.progress("encoded", "f1", [1, 4])];
    const response = await call("POST", "/v1/jobs/api-1/events", { v: 1, events });
    expect(response.status).toBe(202);
    expect(await response.json()).toEqual({ accepted: 3, messages: 1 });
    const single = await call("POST", "/v1/jobs/api-1/events", e.sealed());
    expect(single.status).toBe(202);
    const bodies = (await drainQueue(queue.client, queue.url)).map((body) => JSON.parse(body) as { events: { event_id: string }[] });
    expect(bodies.flatMap((body) => body.events.map((event) => event.event_id)).sort()).toEqual([...events.map((event) => event.event_id), "e000004"].sort());
  });

  it("enqueues nothing of a request with one bad event, and names it", async () => {
    await drainQueue(queue.client, queue.url);
    const e = eventFactory("api-1");
    const response = await call("POST", "/v1/jobs/api-1/events", { v: 1, events: [e.original("f3", "image/png"), { ...e.progress("encoded", "f1", [1, 2]), progress: [1, -1] }] });
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ error: { code: "invalid_event", fields: [{ field: "events[1].progress[1]" }] } });
    const otherJob = await call("POST", "/v1/jobs/api-1/events", { v: 1, events: [eventFactory("other").sealed()] });
    expect(otherJob.status).toBe(400);
    expect(await otherJob.json()).toMatchObject({ error: { code: "wrong_job", fields: [{ field: "events[0].job_id" }] } });
    expect((await call("POST", "/v1/jobs/api-1/events", "{nope")).status).toBe(400);
    expect(await drainQueue(queue.client, queue.url)).toEqual([]);
  });

  it.each([["constructor"], [["__proto__"]], ["toString"]])("refuses a plan whose step uses %j with a 400 naming the field, never a 500", async (use) => {
    const response = await call("POST", "/v1/jobs", { job_id: "api-proto", plan: { steps: { a: { robot: "/image/resize", use } } } });
    expect(response.status).toBe(400);
    const body = (await response.json()) as { error: { code: string; fields: { field: string; message: string }[] } };
    expect(body.error.code).toBe("invalid_input");
    expect(body.error.fields.map((f) => f.field)).toEqual([Array.isArray(use) ? "plan.steps.a.use[0]" : "plan.steps.a.use"]);
    expect((await call("GET", "/v1/jobs/api-proto")).status).toBe(404);
  });

  it("refuses misspelt keys of a job and suggests the known ones", async () => {
    const response = await call("POST", "/v1/jobs", { orginals: [{ original_id: "f1" }], plan: { steps: { a: { robot: "/image/resize", use: ":original", results_per_inpt: 2 } } } });
    expect(response.status).toBe(400);
    const body = (await response.json()) as { error: { fields: { field: string; message: string }[] } };
    expect(body.error.fields).toEqual([
      { field: "plan.steps.a.results_per_inpt", message: "unknown key results_per_inpt: did you mean results_per_input?" },
      { field: "orginals", message: "unknown key orginals: did you mean originals?" },
    ]);
  });

  it.each([
    ["attempt missing", (e: Record<string, unknown>) => Object.fromEntries(Object.entries(e).filter(([k]) => k !== "attempt")), "attempt"],
    ["at as epoch seconds", (e: Record<string, unknown>) => ({ ...e, at: 1_763_805_600 }), "at"],
    ["progress as a fraction", (e: Record<string, unknown>) => ({ ...e, progress: 0.4 }), "progress"],
    ["an amount of 1e400", () => JSON.parse(JSON.stringify(eventFactory("api-1").done(1, "t1")).replace('"amount":1', '"amount":1e400')), "amount"],
  ])("names the field of a single event with %s, as the queue does", async (_name, spoil, field) => {
    const event = spoil(eventFactory("api-1").progress("encoded", "f1", [1, 4]) as unknown as Record<string, unknown>);
    // JSON.stringify writes Infinity as null: put the literal 1e400 back into the body.
    const response = await call("POST", "/v1/jobs/api-1/events", JSON.stringify(event).replace("null", "1e400"));
    expect(response.status).toBe(400);
    const body = (await response.json()) as { error: { code: string; message: string; fields: { field: string }[] } };
    expect(body.error.code).toBe("invalid_event");
    expect(body.error.fields.map((f) => f.field)).toEqual([field]);
    expect(body.error.message).toMatch(new RegExp(`^${field}: `));
  });

  it("names the index and both fields of an envelope's bad event", async () => {
    const e = eventFactory("api-1");
    const bad = { ...e.progress("encoded", "f1", [1, 4]), attempt: -1, at: "yesterday" };
    const response = await call("POST", "/v1/jobs/api-1/events", { v: 1, events: [e.sealed(), e.original("f9"), e.original("f8"), bad] });
    expect(response.status).toBe(400);
    const body = (await response.json()) as { error: { code: string; fields: { field: string }[] } };
    expect(body.error.code).toBe("invalid_event");
    expect(body.error.fields.map((f) => f.field).sort()).toEqual(["events[3].at", "events[3].attempt"]);
  });

  it("answers an event of another job as wrong_job, for single events and envelopes", async () => {
    const single = await call("POST", "/v1/jobs/api-1/events", eventFactory("other").sealed());
    expect(single.status).toBe(400);
    expect(await single.json()).toMatchObject({ error: { code: "wrong_job", fields: [{ field: "job_id" }] } });
  });

  it("refuses bodies over 1 MiB", async () => {
    const response = await call("POST", "/v1/jobs/api-1/events", JSON.stringify({ v: 1, pad: "x".repeat(1024 * 1024) }));
    expect(response.status).toBe(413);
    expect(await response.json()).toMatchObject({ error: { code: "oversized" } });
  });

  it("lists a job's rejections, and the tenant's rejections no job took", async () => {
    const store = services.adapters.store();
    const head = await store.loadForBatch({ tenant: "tenant-1", jobId: "api-1" }, []);
    const at = Date.parse("2026-11-22T10:00:00Z");
    await store.rejections.record([
      { tenant: "tenant-1", jobId: "api-1", incarnation: head!.meta.incarnation, code: "invalid_event", reason: "progress[1]: too small", source: "sqs:m:0", excerpt: "{}", atMs: at },
      { tenant: "tenant-1", jobId: "ghost", incarnation: null, code: "unknown_job", reason: "job ghost was not declared", source: "sqs:g:0", excerpt: "{}", atMs: at },
    ]);
    expect(await (await call("GET", "/v1/rejections")).json()).toEqual({
      rejections: [{ job_id: "ghost", code: "unknown_job", reason: "job ghost was not declared", source: "sqs:g:0", excerpt: "{}", at: "2026-11-22T10:00:00.000Z" }],
    });
    expect(await (await call("GET", "/v1/rejections", undefined, "key-tenant-2")).json()).toEqual({ rejections: [] });
    const response = await call("GET", "/v1/jobs/api-1/rejections");
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({
      job_id: "api-1",
      rejections: [{ code: "invalid_event", reason: "progress[1]: too small", source: "sqs:m:0", excerpt: "{}", at: "2026-11-22T10:00:00.000Z" }],
    });
  });

  it("mints subscriber tokens for the tenant's own jobs only", async () => {
    const response = await call("POST", "/v1/tokens", { job_ids: ["api-1"], expires_in_seconds: 60 });
    expect(response.status).toBe(201);
    const { token } = (await response.json()) as { token: string };
    expect(verifyToken(token, tokenKeysOf(SECRET), Date.now())).toMatchObject({ ok: true, claims: { jobIds: ["api-1"], keyId: expect.stringMatching(/^key_/) } });
    expect(verifyToken(token, tokenKeysOf(SECRET), Date.now() + 61_000)).toEqual({ ok: false, reason: "expired" });
    expect(verifyToken(token, tokenKeysOf("other-secret"), Date.now())).toEqual({ ok: false, reason: "unknown_kid" });
    expect((await call("POST", "/v1/tokens", { job_ids: ["api-1"] }, "key-tenant-2")).status).toBe(404);
  });

  it("shows each tenant its own webhook secret, made on first use and the same on the next read", async () => {
    type Secrets = { secret: string; secrets: { secret: string; created_at: string; expires_at: string | null }[] };
    const first = (await (await call("GET", "/v1/webhook-secret")).json()) as Secrets;
    expect(first.secret).toMatch(/^whsec_[A-Za-z0-9+/]{32}$/);
    expect(Buffer.from(first.secret.slice(6), "base64")).toHaveLength(24);
    expect(first.secrets).toEqual([{ secret: first.secret, created_at: expect.any(String), expires_at: null }]);
    expect(((await (await call("GET", "/v1/webhook-secret")).json()) as Secrets).secret).toBe(first.secret);
    const other = (await (await call("GET", "/v1/webhook-secret", undefined, "key-tenant-2")).json()) as Secrets;
    expect(other.secret).not.toBe(first.secret);
    expect((await call("GET", "/v1/webhook-secret", undefined, "no-such-key")).status).toBe(401);
  });

  it("rotates a tenant's webhook secret, keeping the previous one for the overlap asked (24 h by default)", async () => {
    type Secrets = { secret: string; secrets: { secret: string; expires_at: string | null }[] };
    const before = (await (await call("GET", "/v1/webhook-secret", undefined, "key-tenant-2")).json()) as Secrets;
    const rotated = await call("POST", "/v1/webhook-secret/rotate", undefined, "key-tenant-2");
    expect(rotated.status).toBe(200);
    const after = (await rotated.json()) as Secrets;
    expect(after.secret).not.toBe(before.secret);
    expect(after.secrets.map((s) => s.secret)).toEqual([after.secret, before.secret]);
    const overlapHours = (Date.parse(after.secrets[1]!.expires_at!) - Date.now()) / 3_600_000;
    expect(overlapHours).toBeGreaterThan(23.9);
    expect(overlapHours).toBeLessThanOrEqual(24);
    const now = (await (await call("POST", "/v1/webhook-secret/rotate", { overlap_seconds: 0 }, "key-tenant-2")).json()) as Secrets;
    expect(now.secrets.map((s) => s.secret)).toEqual([now.secret]);
    const bad = await call("POST", "/v1/webhook-secret/rotate", { overlap_seconds: -1 }, "key-tenant-2");
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ error: { fields: [{ field: "overlap_seconds" }] } });
  });

  it("registers a notify_url that had answered 410 Gone again when a job is created with it", async () => {
    const url = "https://hooks.example/gone-then-back";
    await webhookEndpoints.markGone("tenant-1", url, Date.now());
    await webhookEndpoints.markGone("tenant-2", url, Date.now());
    expect((await call("POST", "/v1/jobs", { job_id: "api-revive", notify_url: url })).status).toBe(201);
    expect(await webhookEndpoints.goneSince("tenant-1", url)).toBeNull();
    expect(await webhookEndpoints.goneSince("tenant-2", url)).not.toBeNull();
  });

  it("answers unknown routes with JSON", async () => {
    const response = await call("GET", "/v1/nothing-here");
    expect(response.status).toBe(404);
    expect(await response.json()).toMatchObject({ error: { code: "not_found" } });
  });

  it("describes every route in its OpenAPI document", async () => {
    const document = (await (await app.request("/v1/openapi.json")).json()) as { openapi: string; paths: Record<string, Record<string, unknown>> };
    expect(document.openapi).toBe("3.1.0");
    const routes = app.routes.filter((route) => route.method !== "ALL" && !route.path.includes("*"));
    expect(routes.length).toBeGreaterThanOrEqual(6);
    for (const route of routes) {
      const path = route.path.replace(/:(\w+)/g, "{$1}");
      expect(document.paths[path]?.[route.method.toLowerCase()], `${route.method} ${route.path}`).toBeDefined();
    }
  });
});
