import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Event } from "../core/contract/events.ts";
import { createAwsClients } from "../functions/adapters/aws-clients.ts";
import { createDynamoLease } from "../functions/adapters/dynamo/lease.ts";
import { createDynamoStore } from "../functions/adapters/dynamo/store.ts";
import { createWsPosterPool } from "../functions/adapters/ws-poster-pool.ts";
import { silentLog } from "../functions/config.ts";
import { createTicker } from "../functions/ticker/index.ts";
import { startSandbox, type Sandbox } from "../sandbox/sandbox.ts";
import { eventFactory } from "./support/events.ts";
import { connect, type Frame, type TestClient } from "./support/ws-client.ts";

const TICK_MS = 300;
let sandbox: Sandbox;
beforeAll(async () => {
  sandbox = await startSandbox({ port: 0, memory: true, dataDir: "", log: silentLog, batchingWindowMs: 20, tickMs: TICK_MS });
});
afterAll(async () => sandbox?.stop());

const api = (method: string, path: string, body?: unknown) =>
  fetch(`${sandbox.http}${path}`, { method, headers: { authorization: `Bearer ${sandbox.apiKey}`, "content-type": "application/json" }, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });

const PLAN = { steps: { encoded: { robot: "/video/encode", use: ":original" } } };

async function job(jobId: string, extra: Record<string, unknown> = {}): Promise<string> {
  const response = await api("POST", "/v1/jobs", { job_id: jobId, plan: PLAN, originals: [{ original_id: "f1", mime: "video/mp4" }], emit_execution_progress: true, ...extra });
  expect(response.status).toBe(201);
  return ((await response.json()) as { subscriber_token: string }).subscriber_token;
}

async function tokenFor(jobIds: string[]): Promise<string> {
  return ((await (await api("POST", "/v1/tokens", { job_ids: jobIds })).json()) as { token: string }).token;
}

async function send(jobId: string, events: Event[]) {
  expect((await api("POST", `/v1/jobs/${jobId}/events`, { v: 1, events })).status).toBe(202);
}

async function subscribed(token: string, jobIds: string[]): Promise<TestClient> {
  const client = await connect(`${sandbox.websocket}?token=${token}`);
  for (const jobId of jobIds) {
    client.send({ action: "subscribe", job_id: jobId });
    await client.next((f) => f.event === "subscribed" && f.job_id === jobId);
  }
  return client;
}

const progressOf = (frame: Frame) => (frame.data as { progress_combined: number | null }).progress_combined;
const eventsIn = (frames: Frame[]) => frames.flatMap((frame) => (frame.event === "batch" ? (frame.events as Frame[]) : [frame]));

describe("ticker fan-out (sandbox)", () => {
  it("pushes progress as it changes, never backwards, and job_finished exactly once", async () => {
    const client = await subscribed(await job("tick-1"), ["tick-1"]);
    const e = eventFactory("tick-1");
    for (const [current, attempt] of [[20, 1], [60, 1], [10, 2], [70, 2]] as const) {
      await send("tick-1", [e.progress("encoded", "f1", [current, 100], { attempt })]);
      await new Promise((resolve) => setTimeout(resolve, TICK_MS * 3));
    }
    await send("tick-1", [e.completed("encoded", "f1", { attempt: 2 }), e.jobCompleted()]);
    await client.next((f) => f.event === "job_finished", 10_000);
    await new Promise((resolve) => setTimeout(resolve, TICK_MS * 4));
    const progress = eventsIn(client.frames).filter((f) => f.event === "assembly_execution_progress").map(progressOf);
    expect(progress).toContain(60);
    expect(progress).not.toContain(10);
    for (let i = 1; i < progress.length; i++) expect(progress[i]!).toBeGreaterThanOrEqual(progress[i - 1]!);
    const finished = eventsIn(client.frames).filter((f) => f.event === "job_finished");
    expect(finished).toHaveLength(1);
    expect(finished[0]).toMatchObject({ data: { status: "completed", progress_combined: 100 } });
    client.socket.close();
  });

  it("sends no progress events for a job that did not ask for them, but still job_finished", async () => {
    const client = await subscribed(await job("tick-2", { emit_execution_progress: false }), ["tick-2"]);
    const e = eventFactory("tick-2");
    await send("tick-2", [e.progress("encoded", "f1", [50, 100])]);
    await new Promise((resolve) => setTimeout(resolve, TICK_MS * 4));
    await send("tick-2", [e.jobCompleted()]);
    await client.next((f) => f.event === "job_finished", 10_000);
    expect(eventsIn(client.frames).filter((f) => f.event === "assembly_execution_progress")).toEqual([]);
    client.socket.close();
  });

  it("sends no progress event while the estimate is unavailable", async () => {
    const client = await subscribed(await job("tick-3", { plan: { steps: { unzipped: { robot: "/file/decompress", use: ":original" } } }, originals: [{ original_id: "z", mime: "application/zip" }] }), ["tick-3"]);
    const e = eventFactory("tick-3");
    await send("tick-3", [e.progress("unzipped", "z", [5, 10])]);
    await new Promise((resolve) => setTimeout(resolve, TICK_MS * 4));
    expect(eventsIn(client.frames).filter((f) => f.event === "assembly_execution_progress")).toEqual([]);
    await send("tick-3", [e.completed("unzipped", "z", { result_count: 4 })]);
    const progress = await client.next((f) => eventsIn([f]).some((x) => x.event === "assembly_execution_progress"), 10_000);
    expect(progressOf(eventsIn([progress])[0]!)).toBe(100);
    client.socket.close();
  });

  it("gives a connection watching several jobs one batch frame per tick, and keeps jobs and tenants apart", async () => {
    await job("tick-4a");
    await job("tick-4b");
    await job("tick-4c");
    const watcher = await subscribed(await tokenFor(["tick-4a", "tick-4b"]), ["tick-4a", "tick-4b"]);
    const bystander = await subscribed(await tokenFor(["tick-4c"]), ["tick-4c"]);
    const postsBefore = watcher.frames.length;
    const a = eventFactory("tick-4a");
    const b = eventFactory("tick-4b");
    // Both jobs must change within one tick; on a loaded machine the two applies can straddle a
    // tick, so the changes are repeated (a few percent further each time) until they share one.
    let batch: Frame | undefined;
    for (let round = 0; batch === undefined && round < 5; round++) {
      await Promise.all([send("tick-4a", [a.progress("encoded", "f1", [30 + round, 100])]), send("tick-4b", [b.progress("encoded", "f1", [40 + round, 100])])]);
      batch = await watcher.next((f) => f.event === "batch", 4_000).catch(() => undefined);
    }
    if (batch === undefined) throw new Error("no batch frame after 5 rounds of simultaneous changes");
    expect((batch.events as Frame[]).map((f) => f.job_id).sort()).toEqual(["tick-4a", "tick-4b"]);
    expect(watcher.frames.length).toBeGreaterThan(postsBefore);
    expect(eventsIn(bystander.frames).filter((f) => f.job_id !== "tick-4c")).toEqual([]);
    watcher.socket.close();
    bystander.socket.close();
  });

  it("reaches a connection that subscribes after the job's subscribers were read, and no longer one that unsubscribed", async () => {
    const token = await job("tick-6");
    const e = eventFactory("tick-6");
    const early = await subscribed(token, ["tick-6"]);
    await send("tick-6", [e.progress("encoded", "f1", [10, 100])]);
    await early.next((f) => f.event === "assembly_execution_progress" && progressOf(f) === 10, 10_000);
    const late = await subscribed(token, ["tick-6"]);
    early.send({ action: "unsubscribe", job_id: "tick-6" });
    await early.next((f) => f.event === "unsubscribed");
    await send("tick-6", [e.progress("encoded", "f1", [20, 100])]);
    await late.next((f) => f.event === "assembly_execution_progress" && progressOf(f) === 20, 10_000);
    await new Promise((resolve) => setTimeout(resolve, TICK_MS * 3));
    expect(eventsIn(early.frames).filter((f) => f.event === "assembly_execution_progress").map(progressOf)).not.toContain(20);
    early.socket.close();
    late.socket.close();
  });

  it("forgets connections that are gone", async () => {
    await job("tick-5");
    const { connections, subscriptions, store } = sandbox.services.adapters;
    const head = (await store().loadForBatch({ tenant: "default", jobId: "tick-5" }, []))!;
    await connections().put({ connectionId: "vanished", tenant: "default", scope: ["tick-5"], connectedAtMs: Date.now(), keyId: "key_000000000001", tokenExpiresAtMs: Date.now() + 3_600_000 });
    await subscriptions().subscribe("vanished", head.meta);
    await send("tick-5", [eventFactory("tick-5").progress("encoded", "f1", [10, 100])]);
    const deadline = Date.now() + 10_000;
    while ((await connections().get("vanished")) !== null) {
      if (Date.now() > deadline) throw new Error("the gone connection was not removed");
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(await subscriptions().subscribersOf([head.meta])).toEqual([[]]);
  });

  it("lets only one of two overlapping ticker runs tick", async () => {
    const clients = createAwsClients({ region: "us-east-1", dynamodbEndpoint: sandbox.dynamodbEndpoint });
    const store = createDynamoStore({ client: clients.dynamodb, tableName: sandbox.tableName, now: Date.now });
    const deps = { store, changeFeed: store.changeFeed, channels: [], log: silentLog, now: Date.now };
    const lease = (name: string) => createDynamoLease({ client: clients.dynamodb, tableName: sandbox.tableName, now: Date.now, name });
    const first = createTicker({ ...deps, lease: lease("overlap-test") });
    const second = createTicker({ ...deps, lease: lease("overlap-test") });
    const [a, b] = await Promise.all([first.tick(), second.tick()]);
    expect([a.ticked, b.ticked].sort()).toEqual([false, true]);
    expect((await second.tick()).ticked).toBe(b.ticked);
    await first.release();
    await second.release();
  });
});

describe("posting from worker threads", () => {
  it("posts signed, as in the cloud, to the sandbox gateway from several threads, one outcome per delivery, in order", async () => {
    await job("pool-1");
    const client = await subscribed(await tokenFor(["pool-1"]), ["pool-1"]);
    const { store, subscriptions } = sandbox.services.adapters;
    const head = (await store().loadForBatch({ tenant: "default", jobId: "pool-1" }, []))!;
    const [subscriber] = (await subscriptions().subscribersOf([head.meta]))[0]!;
    const pool = createWsPosterPool({ endpoint: sandbox.websocket!.replace("ws://", "http://"), region: "us-east-1", credentials: { accessKeyId: "x", secretAccessKey: "x" }, threads: 2 });
    try {
      const deliveries = [1, 2, 3, 4].map((n) => ({ connectionId: n === 3 ? "no-such-connection" : subscriber!.connectionId, body: JSON.stringify({ event: "pong", n }) }));
      expect(await pool.postAll(deliveries)).toEqual(["sent", "sent", "gone", "sent"]);
      await client.next((frame) => frame.n === 4);
      expect(client.frames.filter((frame) => frame.event === "pong").map((frame) => frame.n).sort()).toEqual([1, 2, 4]);
    } finally {
      await pool.close();
      client.socket.close();
    }
  });
});

describe("ticker cadence (the default 2 s interval)", () => {
  let sandbox2: Sandbox;
  beforeAll(async () => {
    sandbox2 = await startSandbox({ port: 0, memory: true, dataDir: "", log: silentLog, batchingWindowMs: 20 });
  });
  afterAll(async () => sandbox2?.stop());

  /** A new job with one WebSocket subscriber, and a way to send it an event over HTTP. */
  async function watched(jobId: string): Promise<{ client: TestClient; post: (event: Event) => Promise<Response> }> {
    const call = (path: string, body: unknown) => fetch(`${sandbox2.http}${path}`, { method: "POST", headers: { authorization: `Bearer ${sandbox2.apiKey}` }, body: JSON.stringify(body) });
    const created = (await (await call("/v1/jobs", { job_id: jobId, plan: PLAN, originals: [{ original_id: "f1", mime: "video/mp4" }], emit_execution_progress: true })).json()) as { subscriber_token: string };
    const client = await connect(`${sandbox2.websocket}?token=${created.subscriber_token}`);
    client.send({ action: "subscribe", job_id: jobId });
    await client.next((f) => f.event === "subscribed");
    return { client, post: (event) => call(`/v1/jobs/${jobId}/events`, event) };
  }

  it("pushes a change that follows a quiet spell at once, not at the next fixed beat", async () => {
    const { client, post } = await watched("prompt");
    const e = eventFactory("prompt");
    // With a fixed 2 s beat, each of these would wait 1 s on average and up to 2 s.
    for (const [n, quietMs] of [[10, 2_300], [20, 2_900], [30, 2_600]] as const) {
      await new Promise((resolve) => setTimeout(resolve, quietMs));
      const sent = Date.now();
      await post(e.progress("encoded", "f1", [n, 100]));
      const pushed = await client.next((f) => f.event === "assembly_execution_progress" && progressOf(f) === n, 5_000);
      expect(pushed).toBeDefined();
      expect(Date.now() - sent).toBeLessThan(1_200);
    }
    client.socket.close();
  }, 30_000);

  it("pushes a changing job about every 2 s, however often its events arrive", async () => {
    const { client, post } = await watched("cadence");
    const e = eventFactory("cadence");
    const started = Date.now();
    for (let i = 1; Date.now() - started < 7_500; i++) {
      await post(e.progress("encoded", "f1", [i, 1000]));
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    const pushes = client.arrivals.filter(({ frame }) => frame.event === "assembly_execution_progress" && frame.data !== undefined).slice(1);
    expect(pushes.length).toBeGreaterThanOrEqual(3);
    // One frame a tick however many events: the average gap is the tick's. (Single gaps are not
    // held to it: on a loaded machine one late post and an on-time one arrive 1.2 s apart, the
    // flake hunt saw, though the ticks kept their 2 s.)
    const averageGap = (pushes.at(-1)!.at - pushes[0]!.at) / (pushes.length - 1);
    expect(averageGap).toBeGreaterThan(1_700);
    expect(averageGap).toBeLessThan(2_600);
    client.socket.close();
  }, 30_000);
});
