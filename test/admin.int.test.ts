/** The admin API over the composition root on dynalite: tenants, keys shown once and stored hashed, revocation, rotation, the audit log. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PutItemCommand, ScanCommand } from "@aws-sdk/client-dynamodb";
import { createDynamoApiKeys, hashApiKey, API_KEY_CACHE_MS } from "../functions/adapters/dynamo/api-keys.ts";
import { ALL_SCOPES } from "../core/contract/admin.ts";
import { createAdminApp } from "../functions/api/admin.ts";
import { createApp } from "../functions/api/index.ts";
import { createServices, type Services } from "../functions/composition.ts";
import type { Log } from "../functions/config.ts";
import { newTable, startDynalite, type TestTable } from "./support/dynamo.ts";
import { testConfig } from "./support/config.ts";
import { startTestQueue, type TestQueue } from "./support/sqs.ts";

const ADMIN_TOKEN = "test-admin-token-0123456789";
let dynamo: { endpoint: string; close(): Promise<void> };
let table: TestTable;
let queue: TestQueue;
let services: Services;
let app: ReturnType<Services["api"]>;
const logged: { level: string; message: string; fields: Record<string, unknown> }[] = [];
const log: Log = (level, message, fields = {}) => void logged.push({ level, message, fields });

const emulators = () => ({ dynamodbEndpoint: dynamo.endpoint, tableName: table.name, sqsEndpoint: queue.endpoint, queueUrl: queue.url });

beforeAll(async () => {
  dynamo = await startDynalite({ port: 0 });
  table = await newTable(dynamo.endpoint);
  queue = await startTestQueue();
  services = createServices(
    testConfig(emulators(), { adminToken: () => ADMIN_TOKEN }),
    { log, now: Date.now },
  );
  app = services.api();
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
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
const asAdmin = (method: string, path: string, body?: unknown) => request(method, path, ADMIN_TOKEN, body);

type KeyView = { id: string; tenant: string; prefix: string; name: string; created_at: string; revoked_at: string | null };

describe("admin API", () => {
  it("answers 401 to a missing or wrong admin token, and to a tenant's API key, on every admin route", async () => {
    await asAdmin("POST", "/v1/admin/tenants", { name: "auth-check" });
    const created = (await (await asAdmin("POST", "/v1/admin/tenants/auth-check/keys", {})).json()) as { key: string };
    const routes = [
      ["POST", "/v1/admin/tenants", { name: "intruder" }],
      ["GET", "/v1/admin/tenants", undefined],
      ["POST", "/v1/admin/tenants/auth-check/keys", {}],
      ["GET", "/v1/admin/tenants/auth-check/keys", undefined],
      ["DELETE", "/v1/admin/tenants/auth-check/keys/key_000000000000", undefined],
      ["POST", "/v1/admin/tenants/auth-check/webhook-secret/rotate", {}],
      ["GET", "/v1/admin/audit", undefined],
      ["GET", "/v1/admin/no-such-route", undefined],
    ] as const;
    for (const [method, path, body] of routes) {
      for (const credential of [null, "wrong-token", `${ADMIN_TOKEN}x`, created.key]) {
        const response = await request(method, path, credential, body);
        expect(response.status, `${method} ${path} with ${credential}`).toBe(401);
        expect(await response.json()).toMatchObject({ error: { code: "unauthorized" } });
      }
    }
    expect((await asAdmin("GET", "/v1/admin/tenants")).status).toBe(200);
    // ...and the admin token is no API key.
    expect((await request("GET", "/v1/rejections", ADMIN_TOKEN)).status).toBe(401);
    expect(logged.some((line) => line.message === "admin request refused" && line.fields.reason === "wrong token")).toBe(true);
  });

  it("creates a tenant and a key that works on /v1/jobs, lists it without the secret, and refuses it once revoked", async () => {
    const tenant = await asAdmin("POST", "/v1/admin/tenants", { name: "acme" });
    expect(tenant.status).toBe(201);
    expect(await tenant.json()).toMatchObject({ name: "acme", created_at: expect.any(String) });
    expect((await (await asAdmin("GET", "/v1/admin/tenants")).json()) as unknown).toMatchObject({ tenants: expect.arrayContaining([expect.objectContaining({ name: "acme" })]) });

    const createdResponse = await asAdmin("POST", "/v1/admin/tenants/acme/keys", { name: "ci" });
    expect(createdResponse.status).toBe(201);
    const created = (await createdResponse.json()) as KeyView & { key: string };
    expect(created.key).toMatch(/^hw_live_[0-9a-f]{32}$/);
    expect(created).toMatchObject({ tenant: "acme", name: "ci", prefix: created.key.slice(0, 16), revoked_at: null });
    expect(created.id).toMatch(/^key_[0-9a-f]{12}$/);

    const job = await request("POST", "/v1/jobs", created.key, { job_id: "admin-job" });
    expect(job.status).toBe(201);
    expect((await request("GET", "/v1/jobs/admin-job", created.key)).status).toBe(200);

    const listed = (await (await asAdmin("GET", "/v1/admin/tenants/acme/keys")).json()) as { keys: KeyView[] };
    expect(listed.keys).toEqual([{ id: created.id, tenant: "acme", prefix: created.prefix, name: "ci", scopes: ["ingest", "read"], created_at: created.created_at, revoked_at: null }]);
    expect(JSON.stringify(listed)).not.toContain(created.key);

    const revoked = await asAdmin("DELETE", `/v1/admin/tenants/acme/keys/${created.id}`);
    expect(revoked.status).toBe(200);
    expect(await revoked.json()).toMatchObject({ id: created.id, revoked_at: expect.any(String) });
    expect((await request("GET", "/v1/jobs/admin-job", created.key)).status).toBe(401);
    expect((await request("POST", "/v1/jobs", created.key, { job_id: "after-revoke" })).status).toBe(401);
    const again = await asAdmin("DELETE", `/v1/admin/tenants/acme/keys/${created.prefix}`);
    expect(again.status).toBe(409);
    expect(await again.json()).toMatchObject({ error: { code: "key_revoked" } });
    const after = (await (await asAdmin("GET", "/v1/admin/tenants/acme/keys")).json()) as { keys: KeyView[] };
    expect(after.keys[0]!.revoked_at).not.toBeNull();
  });

  it("stores keys only as hashes", async () => {
    await asAdmin("POST", "/v1/admin/tenants", { name: "hashed" });
    const { key } = (await (await asAdmin("POST", "/v1/admin/tenants/hashed/keys", {})).json()) as { key: string };
    const { Items } = await table.client.send(new ScanCommand({ TableName: table.name }));
    expect(JSON.stringify(Items)).not.toContain(key);
  });

  it("revokes a key by its prefix, and keeps other keys of the tenant working", async () => {
    await asAdmin("POST", "/v1/admin/tenants", { name: "two-keys" });
    const first = (await (await asAdmin("POST", "/v1/admin/tenants/two-keys/keys", { name: "a" })).json()) as KeyView & { key: string };
    const second = (await (await asAdmin("POST", "/v1/admin/tenants/two-keys/keys", { name: "b" })).json()) as KeyView & { key: string };
    expect((await asAdmin("DELETE", `/v1/admin/tenants/two-keys/keys/${first.prefix}`)).status).toBe(200);
    expect((await request("GET", "/v1/rejections", first.key)).status).toBe(401);
    expect((await request("GET", "/v1/rejections", second.key)).status).toBe(200);
  });

  it("refuses unknown tenants, unknown keys, taken names and invalid names with precise errors", async () => {
    const unknown = await asAdmin("POST", "/v1/admin/tenants/ghost/keys", {});
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toMatchObject({ error: { code: "tenant_not_found" } });
    expect((await asAdmin("GET", "/v1/admin/tenants/ghost/keys")).status).toBe(404);
    expect((await asAdmin("POST", "/v1/admin/tenants/ghost/webhook-secret/rotate", {})).status).toBe(404);
    await asAdmin("POST", "/v1/admin/tenants", { name: "taken" });
    const taken = await asAdmin("POST", "/v1/admin/tenants", { name: "taken" });
    expect(taken.status).toBe(409);
    expect(await taken.json()).toMatchObject({ error: { code: "tenant_exists" } });
    const invalid = await asAdmin("POST", "/v1/admin/tenants", { name: "a#b" });
    expect(invalid.status).toBe(400);
    expect(await invalid.json()).toMatchObject({ error: { fields: [{ field: "name" }] } });
    const noKey = await asAdmin("DELETE", "/v1/admin/tenants/taken/keys/key_0123456789ab");
    expect(noKey.status).toBe(404);
    expect(await noKey.json()).toMatchObject({ error: { code: "key_not_found" } });
  });

  it("rotates a tenant's webhook secret, keeping the old one signing for the overlap", async () => {
    await asAdmin("POST", "/v1/admin/tenants", { name: "hooks" });
    const old = (await services.adapters.webhookSecrets().secretsOf("hooks"))[0]!;
    const rotated = await asAdmin("POST", "/v1/admin/tenants/hooks/webhook-secret/rotate", { overlap_seconds: 600 });
    expect(rotated.status).toBe(200);
    const body = (await rotated.json()) as { secret: string; secrets: { secret: string; expires_at: string | null }[] };
    expect(body.secret).not.toBe(old.secret);
    expect(body.secrets.map((s) => s.secret)).toEqual([body.secret, old.secret]);
    expect(Date.parse(body.secrets[1]!.expires_at!) - Date.now()).toBeLessThanOrEqual(600_000);
    expect((await services.adapters.webhookSecrets().secretsOf("hooks"))[0]!.secret).toBe(body.secret);
  });

  it("keeps every admin action in the audit log, newest first, and logs each as one JSON line without the key", async () => {
    await asAdmin("POST", "/v1/admin/tenants", { name: "audited" });
    const key = (await (await asAdmin("POST", "/v1/admin/tenants/audited/keys", { name: "deploy" })).json()) as KeyView & { key: string };
    await asAdmin("DELETE", `/v1/admin/tenants/audited/keys/${key.id}`);
    await asAdmin("POST", "/v1/admin/tenants/audited/webhook-secret/rotate", {});
    const audit = (await (await asAdmin("GET", "/v1/admin/audit?limit=4")).json()) as { entries: { action: string; tenant: string; target: string | null; actor: string; request_id: string | null; details: Record<string, unknown> }[] };
    expect(audit.entries.map((entry) => [entry.action, entry.tenant, entry.target])).toEqual([
      ["webhook_secret.rotated", "audited", null],
      ["key.revoked", "audited", key.id],
      ["key.created", "audited", key.id],
      ["tenant.created", "audited", null],
    ]);
    expect(audit.entries.every((entry) => entry.actor === "admin_token" && typeof entry.request_id === "string")).toBe(true);
    expect(audit.entries[2]!.details).toEqual({ prefix: key.prefix, name: "deploy", scopes: "ingest,read" });
    const lines = logged.filter((line) => line.message === "admin action" && line.fields.tenant === "audited");
    expect(lines.map((line) => line.fields.action)).toEqual(["tenant.created", "key.created", "key.revoked", "webhook_secret.rotated"]);
    expect(JSON.stringify([audit, lines])).not.toContain(key.key);
    expect((await asAdmin("GET", "/v1/admin/audit?limit=0")).status).toBe(400);
  });

  it("documents every admin route in the OpenAPI document, under the admin token", async () => {
    const document = (await (await app.request("/v1/openapi.json")).json()) as { paths: Record<string, Record<string, { security?: unknown }>> };
    const routes = app.routes.filter((route) => route.path.startsWith("/v1/admin") && route.method !== "ALL");
    expect(routes.length).toBe(7);
    for (const route of routes) {
      const operation = document.paths[route.path.replace(/:(\w+)/g, "{$1}")]?.[route.method.toLowerCase()];
      expect(operation, `${route.method} ${route.path}`).toBeDefined();
      expect(operation!.security).toEqual([{ adminToken: [] }]);
    }
  });
});

describe("revocation in another API container", () => {
  it("takes effect for new lookups at once and for a container that had the key cached within 30 s", async () => {
    await asAdmin("POST", "/v1/admin/tenants", { name: "cached" });
    const { key, id } = (await (await asAdmin("POST", "/v1/admin/tenants/cached/keys", {})).json()) as { key: string; id: string };
    let nowMs = Date.now();
    const otherContainer = createDynamoApiKeys({ client: table.client, tableName: table.name, now: () => nowMs });
    const freshContainer = createDynamoApiKeys({ client: table.client, tableName: table.name, now: Date.now });
    expect((await otherContainer.principalOf(key))?.tenant).toBe("cached");
    expect(await otherContainer.isActive("cached", id)).toBe(true);
    await asAdmin("DELETE", `/v1/admin/tenants/cached/keys/${id}`);
    expect(await freshContainer.principalOf(key)).toBeNull();
    expect(await freshContainer.isActive("cached", id)).toBe(false);
    expect((await otherContainer.principalOf(key))?.tenant).toBe("cached");
    expect(await otherContainer.isActive("cached", id)).toBe(true);
    expect(await otherContainer.isActive("cached", id, { fresh: true })).toBe(false);
    nowMs += API_KEY_CACHE_MS;
    expect(await otherContainer.principalOf(key)).toBeNull();
    expect(await otherContainer.isActive("cached", id)).toBe(false);
  });
});

describe("keys stored as given (the sandbox's development key)", () => {
  it("stores a key once: again keeps it (and its revocation), for another tenant is refused, and an older sandbox's item gains its listing fields", async () => {
    const keys = services.adapters.apiKeys();
    const { record: first, isNew } = await keys.putKey("hw_dev_00112233445566778899aabbccddeeff", "given", "dev", ALL_SCOPES);
    expect(isNew).toBe(true);
    expect(first).toMatchObject({ tenant: "given", prefix: "hw_dev_00112233", name: "dev", scopes: ["ingest", "read", "admin"], revokedAtMs: null });
    await keys.revoke("given", first.id);
    expect(await keys.putKey("hw_dev_00112233445566778899aabbccddeeff", "given", "dev", ["read"])).toMatchObject({ isNew: false, record: { id: first.id, createdAtMs: first.createdAtMs, scopes: ["ingest", "read", "admin"], revokedAtMs: expect.any(Number) } });
    expect(await keys.principalOf("hw_dev_00112233445566778899aabbccddeeff")).toBeNull();
    await expect(keys.putKey("hw_dev_00112233445566778899aabbccddeeff", "someone-else", "dev", ALL_SCOPES)).rejects.toThrow(/another tenant/);

    const legacy = "hw_dev_ffeeddccbbaa99887766554433221100";
    await table.client.send(
      new PutItemCommand({ TableName: table.name, Item: { pk: { S: `KEY#${hashApiKey(legacy)}` }, sk: { S: "KEY" }, tenant: { S: "given" }, name: { S: "old" }, created_at: { N: "1000" } } }),
    );
    // Made before scopes: it keeps all three, whatever this call asks for.
    expect((await keys.putKey(legacy, "given", "sandbox development key", ["read"])).record).toMatchObject({ tenant: "given", name: "old", createdAtMs: 1000, prefix: "hw_dev_ffeeddcc" });
    expect(await keys.principalOf(legacy)).toMatchObject({ tenant: "given", scopes: ["ingest", "read", "admin"] });
    expect((await keys.list("given")).map((key) => key.prefix)).toContain("hw_dev_ffeeddcc");
  });
});

describe("an API without a usable admin token", () => {
  it("refuses every admin request when none is configured, or one too short", async () => {
    const bare = createServices(
      testConfig(emulators(), { publicUrl: undefined, tokenSecret: () => "x" }),
      { log, now: Date.now },
    );
    const adapters = bare.adapters;
    const bareDeps = {
      store: adapters.store(), jobIndex: adapters.jobIndex(), rejections: adapters.rejections(), streamSlots: adapters.streamSlots(), webhookLog: adapters.webhookLog(), webhookSecrets: adapters.webhookSecrets(),
      webhookEndpoints: adapters.webhookEndpoints(), apiKeys: adapters.apiKeys(), admin: bare.admin(), publisher: adapters.events(), log, now: Date.now, tokenSecret: "x",
    };
    try {
      const response = await bare.api().request("/v1/admin/tenants", { headers: { authorization: "Bearer anything" } });
      expect(response.status).toBe(401);
      expect(await response.json()).toMatchObject({ error: { message: expect.stringContaining("no admin token is configured") } });
      const weak = createApp({ ...bareDeps, adminApp: createAdminApp({ admin: bare.admin(), adminToken: "short", log }) });
      const refused = await weak.request("/v1/admin/tenants", { headers: { authorization: "Bearer short" } });
      expect(refused.status).toBe(401);
      expect(await refused.json()).toMatchObject({ error: { message: expect.stringContaining("shorter than 16") } });
    } finally {
      await bare.close();
    }
  });
});
