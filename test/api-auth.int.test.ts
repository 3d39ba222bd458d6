/**
 * Who may call what (docs/tenants-and-keys.md, "keys do one thing"): scoped API keys, API keys only in the
 * `Authorization` header, each route group with its own auth, and every change of a key or a
 * secret in the audit log whichever path made it. Over the composition root on dynalite, through
 * `app.request`, as a client calls it.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PutItemCommand } from "@aws-sdk/client-dynamodb";
import { hashApiKey } from "../functions/adapters/dynamo/api-keys.ts";
import { createServices, type Services } from "../functions/composition.ts";
import { silentLog } from "../functions/config.ts";
import { testConfig } from "./support/config.ts";
import { newTable, startDynalite, type TestTable } from "./support/dynamo.ts";
import { startTestQueue, type TestQueue } from "./support/sqs.ts";
import { eventFactory } from "./support/events.ts";

const ADMIN_TOKEN = "test-admin-token-0123456789";
let dynamo: { endpoint: string; close(): Promise<void> };
let table: TestTable;
let queue: TestQueue;
let services: Services;
let app: ReturnType<Services["api"]>;

beforeAll(async () => {
  dynamo = await startDynalite({ port: 0 });
  table = await newTable(dynamo.endpoint);
  queue = await startTestQueue();
  services = createServices(testConfig({ dynamodbEndpoint: dynamo.endpoint, tableName: table.name, sqsEndpoint: queue.endpoint, queueUrl: queue.url }, { adminToken: () => ADMIN_TOKEN }), { log: silentLog, now: Date.now });
  app = services.api();
  await asAdmin("POST", "/v1/admin/tenants", { name: "scoped" });
});
afterAll(async () => {
  await services?.close();
  await queue?.close();
  await table?.close();
  await dynamo?.close();
});

const request = (method: string, path: string, credential: string | null, body?: unknown) =>
  app.request(path, {
    method,
    headers: { ...(credential === null ? {} : { authorization: `Bearer ${credential}` }), "content-type": "application/json" },
    ...(body === undefined ? {} : { body: typeof body === "string" ? body : JSON.stringify(body) }),
  });
const asAdmin = (method: string, path: string, body?: unknown) => request(method, path, ADMIN_TOKEN, body);

interface CreatedKey {
  id: string;
  key: string;
  scopes: string[];
}
const newKey = async (body: Record<string, unknown> = {}): Promise<CreatedKey> => {
  const response = await asAdmin("POST", "/v1/admin/tenants/scoped/keys", body);
  expect(response.status, JSON.stringify(await response.clone().json())).toBe(201);
  return (await response.json()) as CreatedKey;
};
const errorOf = async (response: Response) => ((await response.json()) as { error: { code: string; message: string } }).error;
const auditEntries = async () => ((await (await asAdmin("GET", "/v1/admin/audit?limit=50")).json()) as { entries: { action: string; actor: string; tenant: string; target: string | null }[] }).entries;

describe("scoped API keys", () => {
  it("gives a new key ingest and read when no scope is asked for; admin must be asked for", async () => {
    expect((await newKey()).scopes).toEqual(["ingest", "read"]);
    expect((await newKey({ scopes: ["admin", "read", "admin"] })).scopes).toEqual(["read", "admin"]);
    const refused = await asAdmin("POST", "/v1/admin/tenants/scoped/keys", { scopes: ["everything"] });
    expect(refused.status).toBe(400);
    expect(await errorOf(refused)).toMatchObject({ code: "invalid_input", message: expect.stringContaining("scopes[0]") });
    expect((await asAdmin("POST", "/v1/admin/tenants/scoped/keys", { scopes: [] })).status).toBe(400);
  });

  it("tells a revoked key that it was revoked, when, and what to do, where an unknown key is only refused", async () => {
    const worker = await newKey({ name: "retired worker" });
    expect((await asAdmin("DELETE", `/v1/admin/tenants/scoped/keys/${worker.id}`)).status).toBe(200);
    for (const path of ["/v1/jobs", "/v1/jobs/any/stream"]) {
      const refused = await request("GET", path, worker.key);
      expect(refused.status, path).toBe(401);
      expect(await errorOf(refused), path).toMatchObject({ code: "key_revoked", message: expect.stringMatching(/^this API key was revoked at \d{4}-\d\d-\d\dT[\d:.]+Z; ask an admin of the tenant for a new one/) });
    }
    const unknown = await request("GET", "/v1/jobs", "hw_live_00000000000000000000000000000000");
    expect(await errorOf(unknown)).toMatchObject({ code: "unauthorized", message: "send a valid API key as `Authorization: Bearer <key>`" });
  });

  it("lets a worker's key (ingest, read) make and read jobs but neither read nor rotate the webhook secret", async () => {
    const worker = await newKey({ name: "worker" });
    expect((await request("POST", "/v1/jobs", worker.key, { job_id: "scoped-1" })).status).toBe(201);
    expect((await request("GET", "/v1/jobs/scoped-1", worker.key)).status).toBe(200);
    for (const [method, path] of [["GET", "/v1/webhook-secret"], ["POST", "/v1/webhook-secret/rotate"], ["GET", "/v1/keys"], ["POST", "/v1/keys"]] as const) {
      const response = await request(method, path, worker.key, method === "POST" ? {} : undefined);
      expect(response.status, `${method} ${path}`).toBe(403);
      expect(await errorOf(response)).toMatchObject({ code: "missing_scope", message: expect.stringMatching(/lacks the admin scope.*--scope admin/) });
    }
  });

  it("holds each key to its scopes on every route: ingest-only makes jobs and sends events, read-only reads", async () => {
    const ingestOnly = await newKey({ scopes: ["ingest"] });
    const readOnly = await newKey({ scopes: ["read"] });
    const created = await request("POST", "/v1/jobs", ingestOnly.key, { job_id: "scoped-2" });
    expect(created.status).toBe(201);
    // A subscriber token reads the job: a key that may not read gets none.
    expect(((await created.json()) as { subscriber_token: string | null }).subscriber_token).toBeNull();
    expect((await request("POST", "/v1/jobs/scoped-2/events", ingestOnly.key, eventFactory("scoped-2").sealed())).status).toBe(202);
    const readRoutes = [["GET", "/v1/jobs"], ["GET", "/v1/jobs/scoped-2"], ["GET", "/v1/jobs/scoped-2/rejections"], ["GET", "/v1/rejections"], ["GET", "/v1/jobs/scoped-2/webhooks"], ["POST", "/v1/tokens"], ["GET", "/v1/jobs/scoped-2/stream"]] as const;
    for (const [method, path] of readRoutes) {
      const body = path === "/v1/tokens" ? { job_ids: ["scoped-2"] } : undefined;
      expect((await request(method, path, ingestOnly.key, body)).status, `ingest-only ${method} ${path}`).toBe(403);
      if (path !== "/v1/jobs/scoped-2/stream") expect((await request(method, path, readOnly.key, body)).status, `read-only ${method} ${path}`).toBeLessThan(300);
    }
    expect((await request("POST", "/v1/jobs", readOnly.key, { job_id: "scoped-3" })).status).toBe(403);
    expect((await request("POST", "/v1/jobs/scoped-2/events", readOnly.key, eventFactory("scoped-2").sealed())).status).toBe(403);
  });

  it("keeps all three scopes for a key made before scopes existed", async () => {
    const legacy = "hw_live_0123456789abcdef0123456789abcdef";
    const hash = hashApiKey(legacy);
    await table.client.send(
      new PutItemCommand({
        TableName: table.name,
        Item: { pk: { S: `KEY#${hash}` }, sk: { S: "KEY" }, tenant: { S: "scoped" }, key_id: { S: `key_${hash.slice(0, 12)}` }, prefix: { S: "hw_live_01234567" }, name: { S: "old" }, created_at: { N: "1000" } },
      }),
    );
    expect((await request("POST", "/v1/jobs", legacy, { job_id: "legacy-1" })).status).toBe(201);
    expect((await request("GET", "/v1/jobs/legacy-1", legacy)).status).toBe(200);
    expect((await request("GET", "/v1/webhook-secret", legacy)).status).toBe(200);
  });
});

describe("every change of a key or a secret is audited, whichever path made it", () => {
  it("audits a rotation and the keys made and revoked by a tenant's own admin key, and the first secret made on first use", async () => {
    await asAdmin("POST", "/v1/admin/tenants", { name: "self-served" });
    const admin = (await (await asAdmin("POST", "/v1/admin/tenants/self-served/keys", { scopes: ["admin"] })).json()) as CreatedKey;
    expect((await request("GET", "/v1/webhook-secret", admin.key)).status).toBe(200);
    expect((await request("POST", "/v1/webhook-secret/rotate", admin.key, { overlap_seconds: 60 })).status).toBe(200);
    const made = await request("POST", "/v1/keys", admin.key, { name: "made by the tenant", scopes: ["ingest"] });
    expect(made.status).toBe(201);
    const worker = (await made.json()) as CreatedKey;
    expect(worker.scopes).toEqual(["ingest"]);
    expect((await request("POST", "/v1/jobs", worker.key, { job_id: "self-1" })).status).toBe(201);
    const listed = (await (await request("GET", "/v1/keys", admin.key)).json()) as { keys: { id: string; scopes: string[] }[] };
    expect(listed.keys.map((key) => [key.id, key.scopes])).toEqual([[admin.id, ["admin"]], [worker.id, ["ingest"]]]);
    expect((await request("DELETE", `/v1/keys/${worker.id}`, admin.key)).status).toBe(200);
    expect((await request("POST", "/v1/jobs", worker.key, { job_id: "self-2" })).status).toBe(401);
    // Another tenant's key id is no key of this tenant.
    expect((await request("DELETE", "/v1/keys/key_000000000000", admin.key)).status).toBe(404);

    const entries = (await auditEntries()).filter((entry) => entry.tenant === "self-served");
    expect(entries.map((entry) => [entry.action, entry.actor, entry.target])).toEqual([
      ["key.revoked", `key:${admin.id}`, worker.id],
      ["key.created", `key:${admin.id}`, worker.id],
      ["webhook_secret.rotated", `key:${admin.id}`, null],
      ["webhook_secret.created", "headway", null],
      ["key.created", "admin_token", admin.id],
      ["tenant.created", "admin_token", null],
    ]);
  });
});

describe("credentials per route group (each a sub-app with its own auth)", () => {
  it("refuses an API key in a URL, and takes subscriber tokens there", async () => {
    const reader = await newKey({ name: "reader" });
    const created = (await (await request("POST", "/v1/jobs", reader.key, { job_id: "url-1" })).json()) as { subscriber_token: string };
    await request("POST", "/v1/jobs/url-1/events", reader.key, { v: 1, events: [eventFactory("url-1").jobCompleted()] });
    const inUrl = await app.request(`/v1/jobs/url-1/stream?token=${reader.key}`);
    expect(inUrl.status).toBe(401);
    expect(await errorOf(inUrl)).toMatchObject({ code: "api_key_in_url", message: expect.stringContaining("Authorization") });
    const withToken = await app.request(`/v1/jobs/url-1/stream?token=${created.subscriber_token}`);
    expect(withToken.status).toBe(200);
    await withToken.body?.cancel();
    const withKeyInHeader = await request("GET", "/v1/jobs/url-1/stream", reader.key);
    expect(withKeyInHeader.status).toBe(200);
    await withKeyInHeader.body?.cancel();
    // ...and the tenant routes take API keys in the header only: no `?token=`, no subscriber token.
    expect((await app.request(`/v1/jobs/url-1?token=${reader.key}`)).status).toBe(401);
    expect((await request("GET", "/v1/jobs/url-1", created.subscriber_token)).status).toBe(401);
  });

  it("asks for a credential on every route but the OpenAPI document, whatever order the routes were registered in", async () => {
    const worker = await newKey({ scopes: ["ingest"] });
    const routes = app.routes.filter((route) => route.method !== "ALL" && route.path !== "/v1/openapi.json" && route.path !== "/*");
    expect(routes.length).toBeGreaterThan(15);
    for (const route of routes) {
      const path = route.path.replace(/:(\w+)/g, "x-$1");
      const anonymous = await app.request(path, { method: route.method, headers: { "content-type": "application/json" }, body: route.method === "GET" ? null : "{}" });
      expect(anonymous.status, `${route.method} ${route.path} without a credential`).toBe(401);
      // The admin token is no API key, and an API key is no admin token.
      const credential = route.path.startsWith("/v1/admin") ? worker.key : ADMIN_TOKEN;
      const wrong = await app.request(path, { method: route.method, headers: { authorization: `Bearer ${credential}`, "content-type": "application/json" }, body: route.method === "GET" ? null : "{}" });
      expect(wrong.status, `${route.method} ${route.path} with the other group's credential`).toBe(401);
    }
  });
});
