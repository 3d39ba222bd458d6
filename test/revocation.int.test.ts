/**
 * Revocation bites (docs/tenants-and-keys.md): a subscriber token names the API key that minted it, is refused
 * once that key is revoked, and open WebSocket and SSE connections whose token expired or whose
 * key was revoked are told why and closed. Against the sandbox, from outside, with the key cache,
 * the streams' recheck and the connection sweep shortened so that "within a minute" takes a second.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { kidOf } from "../core/access/token.ts";
import { silentLog } from "../functions/config.ts";
import { startSandbox, type Sandbox } from "../sandbox/sandbox.ts";
import { connect } from "./support/ws-client.ts";

let sandbox: Sandbox;
beforeAll(async () => {
  sandbox = await startSandbox({ port: 0, memory: true, dataDir: "", log: silentLog, batchingWindowMs: 20, apiKeyCacheMs: 500, streams: { pollMs: 100, recheckMs: 200 }, sweepEveryMs: 300 });
});
afterAll(async () => sandbox?.stop());

const call = (method: string, path: string, credential: string, body?: unknown) =>
  fetch(`${sandbox.http}${path}`, { method, headers: { authorization: `Bearer ${credential}`, "content-type": "application/json" }, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A key of the development tenant, made through the admin API, with a job of its own and a token for it. */
async function keyWithJob(jobId: string, tokenSeconds = 3600): Promise<{ key: string; id: string; token: string }> {
  const { key, id } = (await (await call("POST", "/v1/admin/tenants/default/keys", sandbox.adminToken, { name: jobId })).json()) as { key: string; id: string };
  expect((await call("POST", "/v1/jobs", key, { job_id: jobId })).status).toBe(201);
  const { token } = (await (await call("POST", "/v1/tokens", key, { job_ids: [jobId], expires_in_seconds: tokenSeconds })).json()) as { token: string };
  return { key, id, token };
}
const revoke = async (id: string) => expect((await call("DELETE", `/v1/admin/tenants/default/keys/${id}`, sandbox.adminToken)).status).toBe(200);

async function refusal(url: string): Promise<number> {
  return new Promise((resolve) => {
    const socket = new WebSocket(url);
    socket.once("unexpected-response", (_request, response) => resolve(response.statusCode ?? 0));
    socket.once("open", () => {
      socket.close();
      resolve(101);
    });
    socket.once("error", () => {});
  });
}

/** Reads an update stream until the server ends it (or `timeoutMs`), returning everything it sent. */
async function readStream(url: string, timeoutMs: number): Promise<{ status: number; text: string; ended: boolean }> {
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), timeoutMs);
  const response = await fetch(url, { signal: abort.signal });
  let text = "";
  let ended = false;
  try {
    if (response.body !== null) for await (const chunk of response.body) text += Buffer.from(chunk).toString("utf8");
    ended = true;
  } catch {
    // aborted: the stream did not end by itself
  } finally {
    clearTimeout(timer);
  }
  return { status: response.status, text, ended };
}

describe("tokens name the key that minted them and the secret that signed them", () => {
  it("carries the key's id and the signing secret's kid", async () => {
    const { id, token } = await keyWithJob("rev-claims");
    const payload = JSON.parse(Buffer.from(token.split(".")[0]!, "base64url").toString("utf8")) as { key_id: string; kid: string };
    expect(payload.key_id).toBe(id);
    expect(payload.kid).toMatch(/^[A-Za-z0-9_-]{8}$/);
    expect(payload.kid).not.toBe(kidOf("some other secret"));
  });
});

describe("revocation bites", () => {
  it("refuses a token once the key that minted it is revoked, on the update stream and at $connect", async () => {
    const { id, token } = await keyWithJob("rev-refused");
    const before = await readStream(`${sandbox.http}/v1/jobs/rev-refused/stream?token=${token}`, 300);
    expect(before.status).toBe(200);
    expect(await refusal(`${sandbox.websocket}?token=${token}`)).toBe(101);
    await revoke(id);
    await sleep(600); // the API's key cache (shortened here; 30 s in a deployment)
    const after = await fetch(`${sandbox.http}/v1/jobs/rev-refused/stream?token=${token}`);
    expect(after.status).toBe(401);
    expect(await after.json()).toMatchObject({ error: { code: "key_revoked", message: expect.stringContaining("revoked") } });
    expect(await refusal(`${sandbox.websocket}?token=${token}`)).toBe(401);
  });

  it("closes an open WebSocket and an open update stream once their key is revoked, saying why", async () => {
    const { id, token } = await keyWithJob("rev-open");
    const client = await connect(`${sandbox.websocket}?token=${token}`);
    client.send({ action: "subscribe", job_id: "rev-open" });
    await client.next((frame) => frame.event === "subscribed");
    const closed = new Promise<number>((resolve) => client.socket.once("close", resolve));
    const stream = readStream(`${sandbox.http}/v1/jobs/rev-open/stream?token=${token}`, 10_000);
    await sleep(300);
    await revoke(id);
    expect(await client.next((frame) => frame.event === "error", 10_000)).toMatchObject({ code: "key_revoked" });
    await closed;
    const { text, ended } = await stream;
    expect(ended).toBe(true);
    expect(text).toMatch(/event: error\ndata: \{"code":"key_revoked"/);
  });

  it("closes an open WebSocket and an open update stream once their token expires, saying why", async () => {
    const { token } = await keyWithJob("rev-expiring", 2);
    const client = await connect(`${sandbox.websocket}?token=${token}`);
    client.send({ action: "subscribe", job_id: "rev-expiring" });
    await client.next((frame) => frame.event === "subscribed");
    const closed = new Promise<number>((resolve) => client.socket.once("close", resolve));
    const { text, ended } = await readStream(`${sandbox.http}/v1/jobs/rev-expiring/stream?token=${token}`, 10_000);
    expect(ended).toBe(true);
    expect(text).toMatch(/event: error\ndata: \{"code":"token_expired"/);
    expect(await client.next((frame) => frame.event === "error", 10_000)).toMatchObject({ code: "token_expired" });
    await closed;
  });
});
