/**
 * The sandbox keeps its secrets to itself: its development key goes only to pages it serves on a
 * loopback name (a DNS-rebinding page sends its own name as `Host`), its key holds every scope
 * (documented), and the metrics endpoint takes the key alone.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { request } from "node:http";
import { silentLog } from "../functions/config.ts";
import { isLoopbackHost } from "../sandbox/dashboard.ts";
import { startSandbox, type Sandbox } from "../sandbox/sandbox.ts";

let sandbox: Sandbox;
beforeAll(async () => {
  sandbox = await startSandbox({ port: 0, memory: true, dataDir: "", log: silentLog, tickMs: 0 });
});
afterAll(async () => sandbox?.stop());

/** A GET with the `Host` header a browser would send for the page's origin (fetch cannot set it). */
function get(path: string, host: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
  const url = new URL(path, sandbox.http);
  return new Promise((resolve, reject) => {
    const outgoing = request({ host: url.hostname, port: url.port, path: url.pathname, headers: { host, ...headers } }, (response) => {
      let body = "";
      response.on("data", (chunk: Buffer) => (body += chunk.toString("utf8")));
      response.on("end", () => resolve({ status: response.statusCode ?? 0, body }));
    });
    outgoing.on("error", reject);
    outgoing.end();
  });
}

describe("the sandbox's dashboard config", () => {
  it("hands the development key to loopback names only", async () => {
    const port = new URL(sandbox.http).port;
    for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`, "localhost"]) {
      const answer = await get("/dashboard/config.json", host);
      expect(answer.status, host).toBe(200);
      expect(JSON.parse(answer.body)).toMatchObject({ api_key: sandbox.apiKey });
    }
    for (const host of [`evil.example:${port}`, "attacker.test", `127.0.0.1.nip.io:${port}`, `localhost.evil.example:${port}`]) {
      const answer = await get("/dashboard/config.json", host);
      expect(answer.status, host).toBe(403);
      expect(answer.body).not.toContain(sandbox.apiKey);
      expect(JSON.parse(answer.body)).toMatchObject({ error: { code: "forbidden", message: expect.stringContaining("http://127.0.0.1") } });
    }
  });

  it("tells loopback names from look-alikes", () => {
    expect(["127.0.0.1", "127.0.0.1:8787", "LOCALHOST:1", "[::1]", "[::1]:8787", "127.1.2.3:9"].every(isLoopbackHost)).toBe(true);
    expect([undefined, "", "localhost.", "::1", "0.0.0.0:8787", "127.0.0.1@evil.example", "evil.example#127.0.0.1", "[::1].evil", "1270.0.0.1"].some(isLoopbackHost)).toBe(false);
  });
});

describe("the sandbox's development key", () => {
  it("holds every scope (documented: the sandbox is one person's machine)", async () => {
    const keys = await sandbox.services.adapters.apiKeys().list("default");
    expect(keys.find((key) => key.name === "sandbox development key")?.scopes).toEqual(["ingest", "read", "admin"]);
  });

  it("is the only credential the metrics endpoint takes", async () => {
    const port = new URL(sandbox.http).port;
    expect((await get("/v1/metrics", `127.0.0.1:${port}`, { authorization: `Bearer ${sandbox.apiKey}` })).status).toBe(200);
    for (const wrong of [`${sandbox.apiKey}x`, sandbox.apiKey.slice(0, -1), sandbox.adminToken, ""]) {
      expect((await get("/v1/metrics", `127.0.0.1:${port}`, { authorization: `Bearer ${wrong}` })).status).toBe(401);
    }
  });
});
