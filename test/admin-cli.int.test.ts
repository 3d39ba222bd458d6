/** The admin CLI (`headway tenants|keys|webhook-secret|audit`) against a running sandbox, as an operator runs it. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { join } from "node:path";
import { createInterface } from "node:readline";

const BIN = join(import.meta.dirname, "..", "bin", "headway.ts");
let sandbox: ChildProcess;
let ready: { http: string; dynamodb_endpoint: string; admin_token: string };

beforeAll(async () => {
  sandbox = spawn(process.execPath, [BIN, "start", "--json", "--memory", "--port", "0"], { stdio: ["ignore", "pipe", "pipe"] });
  const line = await new Promise<string>((resolve, reject) => {
    createInterface({ input: sandbox.stdout! }).once("line", resolve);
    sandbox.once("exit", (code) => reject(new Error(`the sandbox exited ${code}`)));
  });
  ready = JSON.parse(line) as typeof ready;
});
afterAll(async () => {
  if (sandbox === undefined || sandbox.exitCode !== null) return;
  const exited = new Promise((resolve) => sandbox.once("exit", resolve));
  sandbox.kill("SIGINT");
  await exited;
});

/** Runs `headway ARGS --endpoint <the sandbox's DynamoDB>` with no table or endpoint in the environment. */
function headway(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const env = { ...process.env };
  delete env.HEADWAY_TABLE_NAME;
  delete env.AWS_ENDPOINT_URL_DYNAMODB;
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args, "--endpoint", ready.dynamodb_endpoint], { env }, (error, stdout, stderr) => {
      resolve({ code: error === null ? 0 : ((error as { code?: number }).code ?? 1), stdout, stderr });
    });
  });
}

const json = <T>(result: { code: number; stdout: string; stderr: string }): T => {
  expect(result.code, result.stderr).toBe(0);
  return JSON.parse(result.stdout) as T;
};

const createJob = (key: string, jobId: string) =>
  fetch(`${ready.http}/v1/jobs`, { method: "POST", headers: { authorization: `Bearer ${key}`, "content-type": "application/json" }, body: JSON.stringify({ job_id: jobId }) });

describe("headway admin CLI against the sandbox", () => {
  it("creates a tenant and a key the API takes, lists it without the secret, revokes it (the API refuses it), and audits each step", async () => {
    expect(json<{ name: string }>(await headway("tenants", "create", "cli-tenant", "--json"))).toMatchObject({ name: "cli-tenant" });
    const tenants = json<{ tenants: { name: string }[] }>(await headway("tenants", "list", "--json"));
    expect(tenants.tenants.map((t) => t.name)).toEqual(expect.arrayContaining(["cli-tenant", "default"]));

    const created = json<{ id: string; prefix: string; key: string; name: string }>(await headway("keys", "create", "--tenant", "cli-tenant", "--name", "worker", "--json"));
    expect(created).toMatchObject({ name: "worker", key: expect.stringMatching(/^hw_live_[0-9a-f]{32}$/) });
    expect((await createJob(created.key, "cli-job")).status).toBe(201);

    const listed = await headway("keys", "list", "--tenant", "cli-tenant");
    expect(listed.code).toBe(0);
    expect(listed.stdout).toContain(created.id);
    expect(listed.stdout).toContain(`${created.prefix}…`);
    expect(listed.stdout).not.toContain(created.key);

    // A key the API has not seen yet is refused from the moment `revoke` returns (one it has seen
    // may be trusted up to 30 s longer: test/revocation.int.test.ts holds the API to that).
    const unused = json<{ id: string; key: string }>(await headway("keys", "create", "--tenant", "cli-tenant", "--name", "spare", "--json"));
    const revokedUnused = await headway("keys", "revoke", "--tenant", "cli-tenant", unused.id);
    expect(revokedUnused.code, revokedUnused.stderr).toBe(0);
    expect((await createJob(unused.key, "cli-job-refused")).status).toBe(401);
    const revoked = await headway("keys", "revoke", "--tenant", "cli-tenant", created.id);
    expect(revoked.code, revoked.stderr).toBe(0);
    expect(revoked.stdout).toContain(`revoked key ${created.id}`);
    const again = await headway("keys", "revoke", "--tenant", "cli-tenant", created.prefix);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/already revoked/);

    const rotated = json<{ secret: string; secrets: unknown[] }>(await headway("webhook-secret", "rotate", "--tenant", "cli-tenant", "--overlap-seconds", "60", "--json"));
    expect(rotated.secret).toMatch(/^whsec_/);
    expect(rotated.secrets).toHaveLength(1); // the tenant had no secret yet (one is made on first use)

    // The same audit log as the admin API's, which reads it.
    const audit = await fetch(`${ready.http}/v1/admin/audit?limit=6`, { headers: { authorization: `Bearer ${ready.admin_token}` } });
    const entries = ((await audit.json()) as { entries: { action: string; tenant: string; actor: string }[] }).entries;
    expect(entries.map((entry) => entry.action)).toEqual(["webhook_secret.rotated", "key.revoked", "key.revoked", "key.created", "key.created", "tenant.created"]);
    expect(entries.every((entry) => entry.tenant === "cli-tenant" && entry.actor.startsWith("cli:"))).toBe(true);
    expect(JSON.stringify(entries)).not.toContain(created.key);
  }, 180_000);

  it("makes keys that do one thing: ingest and read by default, admin only when asked for, and names an unknown scope", async () => {
    expect((await headway("tenants", "create", "cli-scopes")).code).toBe(0);
    const worker = json<{ key: string; scopes: string[] }>(await headway("keys", "create", "--tenant", "cli-scopes", "--name", "worker", "--json"));
    expect(worker.scopes).toEqual(["ingest", "read"]);
    const ingestOnly = json<{ key: string; scopes: string[] }>(await headway("keys", "create", "--tenant", "cli-scopes", "--scope", "ingest", "--json"));
    expect(ingestOnly.scopes).toEqual(["ingest"]);
    const admin = json<{ key: string; scopes: string[] }>(await headway("keys", "create", "--tenant", "cli-scopes", "--scope", "admin", "--scope", "read", "--json"));
    expect(admin.scopes).toEqual(["read", "admin"]);
    const secretWith = (key: string) => fetch(`${ready.http}/v1/webhook-secret`, { headers: { authorization: `Bearer ${key}` } });
    expect((await secretWith(admin.key)).status).toBe(200);
    const refused = await secretWith(worker.key);
    expect(refused.status).toBe(403);
    expect(await refused.json()).toMatchObject({ error: { code: "missing_scope", message: expect.stringContaining("--scope admin") } });
    expect((await createJob(ingestOnly.key, "cli-scoped-job")).status).toBe(201);
    expect((await fetch(`${ready.http}/v1/jobs/cli-scoped-job`, { headers: { authorization: `Bearer ${ingestOnly.key}` } })).status).toBe(403);
    const listed = await headway("keys", "list", "--tenant", "cli-scopes");
    expect(listed.stdout).toMatch(/SCOPES/);
    expect(listed.stdout).toContain("read,admin");
    const wrong = await headway("keys", "create", "--tenant", "cli-scopes", "--scope", "ingest,everything");
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toMatch(/unknown scope "everything": a key's scopes are ingest, read, admin/);
  }, 120_000);

  it("says clearly what is wrong: an unknown tenant, a missing table, a usage mistake", async () => {
    const unknown = await headway("keys", "create", "--tenant", "nobody");
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/no tenant "nobody"/);
    const unknownJson = await headway("keys", "list", "--tenant", "nobody", "--json");
    expect(JSON.parse(unknownJson.stderr)).toMatchObject({ error: { code: "tenant_not_found" } });
    const noTable = await headway("tenants", "list", "--table", "no-such-table");
    expect(noTable.code).toBe(1);
    expect(noTable.stderr).toMatch(/no table no-such-table/);
    const usage = await headway("keys", "list");
    expect(usage.code).toBe(2);
    expect(usage.stderr).toMatch(/--tenant T is required/);
  }, 120_000);
});
