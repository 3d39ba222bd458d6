import { describe, expect, it } from "vitest";
import type { Event } from "../core/contract/events.ts";
import type { Connection, Connections, Delivery, JobMeta, JobStore, Poster, Subscriber, Subscriptions } from "../core/ports.ts";
import { MAX_FRAME_BYTES } from "../core/delivery/frames.ts";
import { ServerFrame } from "../core/contract/realtime.ts";
import { reduce } from "../core/estimator/reduce.ts";
import { renderSnapshot } from "../core/estimator/snapshot.ts";
import type { JobState } from "../core/estimator/state.ts";
import { mintToken, tokenKeysOf } from "../core/access/token.ts";
import { createWebSocketChannel } from "../functions/ticker/channels/websocket.ts";
import { silentLog } from "../functions/config.ts";
import { createWsHandler, type WebSocketEvent } from "../functions/websocket-routes.ts";
import { eventFactory } from "./support/events.ts";
import { fold } from "./support/fold.ts";

const SECRET = "test-secret";
const TENANT = "default";
const PLAN = { encoded: { robot: "/video/encode", use: ":original" } };

/** In-memory ports of a few lines: what the WebSocket routes (functions/websocket-routes.ts) and the WebSocket channel post is all this test looks at. */
function world(jobs: Record<string, JobState>) {
  const posted: string[] = [];
  const connections = new Map<string, Connection>();
  const subscribers = new Map<string, Map<string, Subscriber>>();
  const meta = (jobId: string): JobMeta => ({ tenant: TENANT, jobId, incarnation: `inc-${jobId}`, createdAtMs: 0 });
  const poster: Poster = {
    async post(_connectionId, frame) {
      posted.push(JSON.stringify(frame));
      return "sent";
    },
    async postAll(deliveries: readonly Delivery[]) {
      for (const delivery of deliveries) posted.push(delivery.body);
      return deliveries.map(() => "sent" as const);
    },
    async disconnect() {},
  };
  const connectionStore: Connections = {
    async put(connection) {
      connections.set(connection.connectionId, connection);
    },
    get: async (connectionId) => connections.get(connectionId) ?? null,
    all: async () => [...connections.values()],
    async remove(connectionId) {
      connections.delete(connectionId);
    },
  };
  const subscriptions: Subscriptions = {
    async subscribe(connectionId, job, options) {
      const list = subscribers.get(job.jobId) ?? new Map<string, Subscriber>();
      subscribers.set(job.jobId, list);
      const finishedVersion = list.get(connectionId)?.finishedVersion ?? null;
      list.set(connectionId, { connectionId, finishedVersion, ...(options?.detail === true ? { detail: true } : {}) });
      return { finishedVersion };
    },
    async unsubscribe(connectionId, job) {
      subscribers.get(job.jobId)?.delete(connectionId);
    },
    subscribersOf: async (metas) => metas.map((job) => [...(subscribers.get(job.jobId)?.values() ?? [])]),
    async markFinishedSent(connectionId, job, version) {
      const subscriber = subscribers.get(job.jobId)?.get(connectionId);
      if (subscriber !== undefined) subscriber.finishedVersion = version;
    },
  };
  const store = {
    loadForBatch: async ({ jobId }: { jobId: string }) => (jobs[jobId] === undefined ? null : { meta: meta(jobId), state: jobs[jobId], handle: null }),
    loadJob: async ({ jobId }: { jobId: string }) => (jobs[jobId] === undefined ? null : { meta: meta(jobId), state: jobs[jobId] }),
  } as unknown as JobStore;
  const ws = createWsHandler({ connections: connectionStore, subscriptions, store, poster, apiKeys: { isActive: async () => true }, tokenSecret: SECRET, now: () => 1_000, log: silentLog });
  const channel = createWebSocketChannel({ subscriptions, connections: connectionStore, poster });
  const token = mintToken({ tenant: TENANT, keyId: "key_000000000001", jobIds: Object.keys(jobs), expiresAtMs: 3_600_000 }, tokenKeysOf(SECRET));
  const route = (connectionId: string, routeKey: string, body?: unknown): WebSocketEvent => ({
    requestContext: { connectionId, routeKey },
    queryStringParameters: routeKey === "$connect" ? { token } : null,
    body: body === undefined ? null : typeof body === "string" ? body : JSON.stringify(body),
  });
  const tick = (jobIds: string[], tickNumber: number) =>
    channel.deliver(
      jobIds.map((jobId) => {
        const state = jobs[jobId]!;
        const snapshot = renderSnapshot(state);
        return { job: { ...meta(jobId), version: state.version, changedAtMs: 0 }, state, snapshot, isFinished: snapshot.status === "completed" };
      }),
      tickNumber,
      silentLog,
    );
  return { posted, ws, route, tick };
}

function running(jobId: string, originals: number, extra: (e: ReturnType<typeof eventFactory>) => Event[] = () => []): JobState {
  const e = eventFactory(jobId);
  const ids = Array.from({ length: originals }, (_, i) => `an-original-with-a-rather-long-identifier-${String(i).padStart(6, "0")}`);
  return fold([[e.plan(PLAN, { emit_execution_progress: true }), ...ids.map((id) => e.original(id, "video/mp4")), e.sealed(), ...extra(e)]], jobId);
}

describe("server frames (the zod schemas of core/delivery/frames.ts)", () => {
  it("parses, without losing a field, every frame the WebSocket routes and the WebSocket channel send", async () => {
    const longMessage = "m".repeat(1_500);
    const jobs = {
      small: running("small", 2, (e) => [e.progress("encoded", "an-original-with-a-rather-long-identifier-000000", [3, 10], { unit: "Bytes", step_index: [0, 2], message: "copying" })]),
      big: running("big", 3_000, (e) => Array.from({ length: 400 }, (_, i) => e.progress("encoded", `an-original-with-a-rather-long-identifier-${String(i).padStart(6, "0")}`, [i, 1_000], { unit: "Bytes", message: longMessage }))),
      done: fold([[...((e) => [e.plan(PLAN), e.original("f1", "video/mp4"), e.jobCompleted()])(eventFactory("done"))]], "done"),
    };
    const { posted, ws, route, tick } = world(jobs);
    expect((await ws(route("c1", "$connect"))).statusCode).toBe(200);
    expect((await ws(route("c2", "$connect"))).statusCode).toBe(200);
    await ws(route("c1", "ping", { action: "ping" }));
    await ws(route("c1", "ping", { action: "ping", id: 7 }));
    await ws(route("c1", "$default", "not json"));
    await ws(route("c1", "$default", { action: "subscribe", id: "req-1" }));
    await ws(route("c1", "subscribe", { action: "subscribe", job_id: "elsewhere", id: "req-2" }));
    for (const jobId of ["small", "big", "done"]) await ws(route("c1", "subscribe", { action: "subscribe", job_id: jobId, id: `sub-${jobId}` }));
    for (const jobId of ["small", "big"]) await ws(route("c2", "subscribe", { action: "subscribe", job_id: jobId, detail: true }));
    for (let n = 0; n < 3; n++) await tick(["small", "big"], n);
    await tick(["small"], 3);
    await ws(route("c1", "unsubscribe", { action: "unsubscribe", job_id: "small", id: "bye" }));

    const frames = posted.map((body) => JSON.parse(body) as Record<string, unknown>);
    for (const [index, frame] of frames.entries()) {
      const parsed = ServerFrame.safeParse(frame);
      expect(parsed.error, `frame ${index}: ${posted[index]!.slice(0, 300)}`).toBeUndefined();
      expect(parsed.data).toEqual(frame);
      expect(Buffer.byteLength(posted[index]!)).toBeLessThanOrEqual(MAX_FRAME_BYTES);
    }
    const kinds = new Set(frames.map((frame) => frame.event));
    expect([...kinds].sort()).toEqual(["assembly_execution_progress", "batch", "error", "job_finished", "pong", "subscribed", "unsubscribed"]);
  });

  it("echoes a request's id on its answer, and sends what it always sent to a request without one", async () => {
    const { posted, ws, route } = world({ small: running("small", 1) });
    await ws(route("c1", "$connect"));
    await ws(route("c1", "ping", { action: "ping" }));
    await ws(route("c1", "ping", { action: "ping", id: "p1" }));
    await ws(route("c1", "$default", { action: "subscribe", id: 42 }));
    await ws(route("c1", "subscribe", { action: "subscribe", job_id: "other", id: "s1" }));
    await ws(route("c1", "subscribe", { action: "subscribe", job_id: "small", id: "s2" }));
    await ws(route("c1", "unsubscribe", { action: "unsubscribe", job_id: "small" }));
    const frames = posted.map((body) => JSON.parse(body) as Record<string, unknown>);
    expect(frames[0]).toEqual({ v: 1, event: "pong" });
    expect(frames[1]).toEqual({ v: 1, event: "pong", id: "p1" });
    expect(frames[2]).toMatchObject({ event: "error", code: "invalid_input", id: 42 });
    expect(frames[3]).toMatchObject({ event: "error", code: "forbidden", id: "s1" });
    expect(frames[4]).toEqual({ v: 1, event: "subscribed", job_id: "small", id: "s2" });
    expect(frames[5]).toMatchObject({ event: "assembly_execution_progress", job_id: "small" });
    expect(frames[6]).toEqual({ v: 1, event: "unsubscribed", job_id: "small" });
  });

  it("pushes the in-flight executions only to a subscription that asked, trimmed to the frame with a count of the rest", async () => {
    const longMessage = "x".repeat(1_900);
    const jobs = {
      busy: running("busy", 200, (e) => Array.from({ length: 200 }, (_, i) => e.progress("encoded", `an-original-with-a-rather-long-identifier-${String(i).padStart(6, "0")}`, [i, 500], { unit: "Bytes", step_index: [1, 3], message: longMessage }))),
    };
    const { posted, ws, route, tick } = world(jobs);
    await ws(route("plain", "$connect"));
    await ws(route("detailed", "$connect"));
    await ws(route("plain", "subscribe", { action: "subscribe", job_id: "busy", id: "plain" }));
    await ws(route("detailed", "subscribe", { action: "subscribe", job_id: "busy", id: "detailed", detail: true }));
    const atSubscribe = posted.map((body) => JSON.parse(body) as { event: string; data?: { detail?: { in_flight: { message: string; unit: string; step_index: number[]; progress: number[] }[]; in_flight_total: number } } });
    posted.length = 0;
    await tick(["busy"], 0);
    const pushed = posted.map((body) => JSON.parse(body) as (typeof atSubscribe)[number]);
    expect(pushed).toHaveLength(2);
    for (const frames of [atSubscribe, pushed]) {
      const withData = frames.filter((frame) => frame.data !== undefined);
      expect(withData.filter((frame) => frame.data!.detail === undefined)).toHaveLength(1);
      const detailed = withData.filter((frame) => frame.data!.detail !== undefined);
      expect(detailed).toHaveLength(1);
      const detail = detailed[0]!.data!.detail!;
      // Long messages: fewer than 100 fit the frame's share for the detail; the total says how many there are.
      expect(detail.in_flight.length).toBeGreaterThan(0);
      expect(detail.in_flight.length).toBeLessThan(100);
      expect(detail.in_flight_total).toBe(200);
      expect(detail.in_flight[0]).toMatchObject({ unit: "Bytes", step_index: [1, 3], message: longMessage, progress: [199, 500] });
    }
    for (const body of posted) expect(Buffer.byteLength(body)).toBeLessThanOrEqual(MAX_FRAME_BYTES);
  });

  it("streams a plan-less job's in-flight commands to a detail subscriber, though its combined figure is null; a plain subscriber gets nothing", async () => {
    // A job of commands (Golem's): no plan, no indicators, so no combined figure; only the detail tells anything.
    const e = eventFactory("commands");
    const declared = e.declared({ at: "2026-11-22T10:00:00.000Z" });
    const job = fold([[declared, e.started("transfer", undefined, 1, { input_id: "image.tar", at: "2026-11-22T10:00:01.000Z" })]], "commands");
    const { posted, ws, route, tick } = world({ commands: job });
    await ws(route("plain", "$connect"));
    await ws(route("detailed", "$connect"));
    await ws(route("plain", "subscribe", { action: "subscribe", job_id: "commands", id: "p" }));
    await ws(route("detailed", "subscribe", { action: "subscribe", job_id: "commands", id: "d", detail: true }));
    const atSubscribe = posted.splice(0).map((body) => ServerFrame.parse(JSON.parse(body)));
    expect(atSubscribe.map((frame) => frame.event)).toEqual(["subscribed", "subscribed", "assembly_execution_progress"]);

    const reports = [
      e.progress("transfer", undefined, [60, 1024], { input_id: "image.tar", unit: "Bytes", step_index: [0, 2], at: "2026-11-22T10:00:02.000Z" }),
      e.progress("transfer", undefined, [0, 1024], { input_id: "image.tar", unit: "Bytes", step_index: [0, 2], message: "Transfer retried", at: "2026-11-22T10:00:03.000Z" }),
    ];
    const pushed = [];
    for (const [index, report] of reports.entries()) {
      reduce(job, [report], 10_000 + index);
      await tick(["commands"], index);
      pushed.push(...posted.splice(0).map((body) => ServerFrame.parse(JSON.parse(body))));
    }
    expect(pushed).toHaveLength(2); // one frame a tick, to the detail subscriber only
    const last = pushed.at(-1)!;
    if (last.event !== "assembly_execution_progress") throw new Error(`unexpected ${last.event}`);
    expect(last.data.progress_combined).toBeNull();
    expect(last.data.detail).toEqual({
      in_flight: [{ step: "transfer", input_id: "image.tar", original_id: null, attempt: 1, step_index: [0, 2], progress: [0, 1024], unit: "Bytes", message: "Transfer retried", at: "2026-11-22T10:00:03.000Z" }],
      in_flight_total: 1,
    });
  });

  it("still posts one frame a connection per tick: a plan-less job's detail and another job's progress go in one batch", async () => {
    const e = eventFactory("commands");
    const commands = fold([[e.declared(), e.progress("transfer", undefined, [1, 2], { input_id: "a" })]], "commands");
    const { posted, ws, route, tick } = world({ commands, small: running("small", 1) });
    await ws(route("c1", "$connect"));
    await ws(route("c1", "subscribe", { action: "subscribe", job_id: "commands", detail: true }));
    await ws(route("c1", "subscribe", { action: "subscribe", job_id: "small" }));
    posted.length = 0;
    await tick(["commands", "small"], 0);
    expect(posted).toHaveLength(1);
    const frame = ServerFrame.parse(JSON.parse(posted[0]!));
    if (frame.event !== "batch") throw new Error(`unexpected ${frame.event}`);
    expect(frame.events.map((event) => [event.job_id, event.data.detail?.in_flight_total ?? null])).toEqual([["commands", 1], ["small", null]]);
  });

  it("puts at most 100 in-flight executions in a detail frame, the most recently reported first, with the total", async () => {
    const at = (i: number) => new Date(Date.parse("2026-11-22T10:00:00.000Z") + i * 1000).toISOString();
    const jobs = { busy: running("busy", 250, (e) => Array.from({ length: 250 }, (_, i) => e.progress("encoded", `an-original-with-a-rather-long-identifier-${String(i).padStart(6, "0")}`, [i, 500], { unit: "Bytes", at: at((i * 37) % 250) }))) };
    const { posted, ws, route, tick } = world(jobs);
    await ws(route("detailed", "$connect"));
    await ws(route("detailed", "subscribe", { action: "subscribe", job_id: "busy", detail: true }));
    posted.length = 0;
    await tick(["busy"], 0);
    expect(posted).toHaveLength(1);
    const frame = ServerFrame.parse(JSON.parse(posted[0]!));
    if (frame.event !== "assembly_execution_progress") throw new Error(`unexpected ${frame.event}`);
    const detail = frame.data.detail!;
    expect(detail.in_flight_total).toBe(250);
    expect(detail.in_flight).toHaveLength(100);
    expect(detail.in_flight!.map((execution) => execution.at)).toEqual(Array.from({ length: 100 }, (_, i) => at(249 - i)));
  });

  it("answers a subscribe to a job too large for one frame with every page of it at once", async () => {
    const { posted, ws, route } = world({ big: running("big", 4_000) });
    await ws(route("c1", "$connect"));
    await ws(route("c1", "subscribe", { action: "subscribe", job_id: "big" }));
    const pages = posted.slice(1).map((body) => ServerFrame.parse(JSON.parse(body)));
    const ids = new Set<string>();
    for (const [index, page] of pages.entries()) {
      if (page.event !== "assembly_execution_progress") throw new Error(`unexpected ${page.event}`);
      expect(page.data.files_page).toEqual({ index, count: pages.length, total_files: 4_000 });
      for (const file of page.data.progress_per_original_file) ids.add(file.original_id);
    }
    expect(pages.length).toBeGreaterThan(1);
    expect(ids.size).toBe(4_000);
  });
});
