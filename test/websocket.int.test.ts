import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { connect } from "./support/ws-client.ts";
import { silentLog } from "../functions/config.ts";
import { startSandbox, type Sandbox } from "../sandbox/sandbox.ts";
import { eventFactory } from "./support/events.ts";

let sandbox: Sandbox;
beforeAll(async () => {
  sandbox = await startSandbox({ port: 0, memory: true, dataDir: "", log: silentLog, batchingWindowMs: 20 });
});
afterAll(async () => sandbox?.stop());

const api = (method: string, path: string, body?: unknown) =>
  fetch(`${sandbox.http}${path}`, {
    method,
    headers: { authorization: `Bearer ${sandbox.apiKey}`, "content-type": "application/json" },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });

async function createJob(body: Record<string, unknown>): Promise<{ job_id: string; subscriber_token: string; websocket_url: string }> {
  const response = await api("POST", "/v1/jobs", body);
  expect(response.status).toBe(201);
  return (await response.json()) as { job_id: string; subscriber_token: string; websocket_url: string };
}

async function refusal(url: string): Promise<number> {
  return new Promise((resolve) => {
    const socket = new WebSocket(url);
    socket.once("unexpected-response", (_request, response) => resolve(response.statusCode ?? 0));
    socket.once("open", () => resolve(101));
    socket.once("error", () => {});
  });
}

describe("WebSocket API (sandbox gateway)", () => {
  it("refuses a connection without a token, with a forged one, or with an expired one", async () => {
    const job = await createJob({ job_id: "ws-refuse" });
    expect(await refusal(sandbox.websocket!)).toBe(401);
    expect(await refusal(`${sandbox.websocket}?token=${job.subscriber_token.slice(0, -3)}abc`)).toBe(401);
    const expired = (await (await api("POST", "/v1/tokens", { job_ids: ["ws-refuse"], expires_in_seconds: 1 })).json()) as { token: string };
    await new Promise((resolve) => setTimeout(resolve, 1100));
    expect(await refusal(`${sandbox.websocket}?token=${expired.token}`)).toBe(401);
    expect(await refusal(`${sandbox.websocket}?token=${job.subscriber_token}`)).toBe(101);
  });

  it("subscribes, sends the current snapshot at once, and answers pings", async () => {
    const job = await createJob({ job_id: "ws-1", plan: { steps: { encoded: { robot: "/video/encode", use: ":original" } } }, originals: [{ original_id: "f1", mime: "video/mp4" }], emit_execution_progress: true });
    expect(job.websocket_url).toBe(sandbox.websocket);
    const client = await connect(`${job.websocket_url}?token=${job.subscriber_token}`);
    client.socket.send(JSON.stringify({ action: "subscribe", job_id: "ws-1" }));
    expect(await client.next((f) => f.event === "subscribed")).toEqual({ v: 1, event: "subscribed", job_id: "ws-1" });
    const progress = await client.next((f) => f.event === "assembly_execution_progress");
    expect(progress).toMatchObject({ job_id: "ws-1", data: { job_id: "ws-1", progress_combined: 0, status: "executing" } });
    client.socket.send(JSON.stringify({ action: "ping" }));
    expect(await client.next((f) => f.event === "pong")).toEqual({ v: 1, event: "pong" });
    client.socket.close();
  });

  it("answers a malformed frame or a job outside the token's scope with an error, and stays up", async () => {
    const job = await createJob({ job_id: "ws-2" });
    await createJob({ job_id: "ws-2-other" });
    const client = await connect(`${job.websocket_url}?token=${job.subscriber_token}`);
    client.socket.send("not json");
    expect(await client.next((f) => f.event === "error")).toMatchObject({ code: "invalid_json" });
    client.socket.send(JSON.stringify({ action: "subscribe" }));
    expect(await client.next((f) => f.event === "error" && f.code === "invalid_input")).toMatchObject({ message: expect.stringContaining("job_id") });
    client.socket.send(JSON.stringify({ action: "subscribe", job_id: "ws-2-other" }));
    expect(await client.next((f) => f.code === "forbidden")).toMatchObject({ event: "error" });
    client.socket.send(JSON.stringify({ action: "subscribe", job_id: "ws-2" }));
    expect(await client.next((f) => f.event === "subscribed")).toMatchObject({ job_id: "ws-2" });
    expect(client.socket.readyState).toBe(WebSocket.OPEN);
    client.socket.close();
  });

  it("sends job_finished once to a subscriber of a finished job", async () => {
    const job = await createJob({ job_id: "ws-3" });
    const e = eventFactory("ws-3");
    // A witness subscribed before the end: once it has job_finished, the ticker has served the
    // final version, so what the subscriber below gets comes from its subscribe alone. (Subscribing
    // while that tick is under way may bring the frame twice, from the route and from the tick:
    // delivery is at least once, and receivers drop repeats by version.)
    const witness = await connect(`${job.websocket_url}?token=${job.subscriber_token}`);
    witness.socket.send(JSON.stringify({ action: "subscribe", job_id: "ws-3" }));
    await witness.next((f) => f.event === "subscribed");
    expect((await api("POST", "/v1/jobs/ws-3/events", { v: 1, events: [e.added(2, "t"), e.done(2, "t"), e.jobCompleted()] })).status).toBe(202);
    await witness.next((f) => f.event === "job_finished");
    witness.socket.close();
    const client = await connect(`${job.websocket_url}?token=${job.subscriber_token}`);
    client.socket.send(JSON.stringify({ action: "subscribe", job_id: "ws-3" }));
    const finished = await client.next((f) => f.event === "job_finished");
    expect(finished).toMatchObject({ job_id: "ws-3", data: { status: "completed", progress_combined: 100 } });
    client.socket.send(JSON.stringify({ action: "subscribe", job_id: "ws-3" }));
    await client.next((f) => f.event === "subscribed" && client.frames.filter((x) => x.event === "subscribed").length === 2);
    client.socket.send(JSON.stringify({ action: "ping" }));
    await client.next((f) => f.event === "pong");
    expect(client.frames.filter((f) => f.event === "job_finished")).toHaveLength(1);
    client.socket.close();
  });
});
