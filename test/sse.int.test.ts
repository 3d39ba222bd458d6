import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EventSource } from "eventsource";
import { silentLog } from "../functions/config.ts";
import { STREAMS } from "../functions/settings.ts";
import { startSandbox, type Sandbox } from "../sandbox/sandbox.ts";
import { eventFactory } from "./support/events.ts";

let sandbox: Sandbox;
beforeAll(async () => {
  sandbox = await startSandbox({ port: 0, memory: true, dataDir: "", log: silentLog, batchingWindowMs: 20, tickMs: 0 });
});
afterAll(async () => sandbox?.stop());

const api = (method: string, path: string, body?: unknown) =>
  fetch(`${sandbox.http}${path}`, { method, headers: { authorization: `Bearer ${sandbox.apiKey}` }, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });

interface Received {
  type: string;
  data: string;
}

/** Reads a stream with the reference `eventsource` client until the server ends it. */
function readStream(url: string, headers: Record<string, string>, onOpen: () => void): Promise<Received[]> {
  return new Promise((resolve, reject) => {
    const received: Received[] = [];
    const source = new EventSource(url, { fetch: (input, init) => fetch(input, { ...init, headers: { ...(init?.headers as Record<string, string>), ...headers } }) });
    const keep = (type: string) => (event: MessageEvent) => {
      received.push({ type, data: event.data as string });
      if (type === "message" && event.data === "assembly_finished") {
        source.close();
        resolve(received);
      }
    };
    source.addEventListener("assembly_execution_progress", keep("assembly_execution_progress"));
    source.addEventListener("job_finished", keep("job_finished"));
    source.addEventListener("message", keep("message"));
    source.addEventListener("open", onOpen);
    source.addEventListener("error", (error) => {
      source.close();
      reject(new Error(`stream failed: ${JSON.stringify(error)}`));
    });
    setTimeout(() => {
      source.close();
      reject(new Error(`stream did not finish: ${JSON.stringify(received)}`));
    }, 20_000);
  });
}

describe("update stream (SSE)", () => {
  it("streams progress, then job_finished and assembly_finished, to the EventSource client with an API key", async () => {
    await api("POST", "/v1/jobs", { job_id: "sse-1", plan: { steps: { encoded: { robot: "/video/encode", use: ":original" } } }, originals: [{ original_id: "f1", mime: "video/mp4" }], emit_execution_progress: true });
    const e = eventFactory("sse-1");
    const received = await readStream(`${sandbox.http}/v1/jobs/sse-1/stream`, { authorization: `Bearer ${sandbox.apiKey}` }, () => {
      void (async () => {
        await api("POST", "/v1/jobs/sse-1/events", e.progress("encoded", "f1", [30, 100]));
        await new Promise((resolve) => setTimeout(resolve, 1500));
        await api("POST", "/v1/jobs/sse-1/events", { v: 1, events: [e.completed("encoded", "f1"), e.jobCompleted()] });
      })();
    });
    const progress = received.filter((r) => r.type === "assembly_execution_progress").map((r) => JSON.parse(r.data).progress_combined);
    expect(progress[0]).toBe(0);
    expect(progress).toContain(30);
    const finished = received.filter((r) => r.type === "job_finished");
    expect(finished).toHaveLength(1);
    expect(JSON.parse(finished[0]!.data)).toMatchObject({ job_id: "sse-1", status: "completed", progress_combined: 100 });
    expect(received.at(-1)).toEqual({ type: "message", data: "assembly_finished" });
  }, 30_000);

  it("takes a subscriber token in the query string, as browsers must", async () => {
    const created = (await (await api("POST", "/v1/jobs", { job_id: "sse-2" })).json()) as { subscriber_token: string };
    const e = eventFactory("sse-2");
    await api("POST", "/v1/jobs/sse-2/events", { v: 1, events: [e.added(1, "t"), e.done(1, "t"), e.jobCompleted()] });
    const received = await readStream(`${sandbox.http}/v1/jobs/sse-2/stream?token=${created.subscriber_token}`, {}, () => {});
    expect(received.map((r) => r.type)).toEqual(["job_finished", "message"]);
  }, 30_000);

  it("streams a plan-less job's in-flight commands with ?detail=true though its combined figure is null; without it, only job_finished", async () => {
    // A job of commands (Golem's): no plan, no counted work. Before, such a stream carried nothing until the job ended.
    const created = (await (await api("POST", "/v1/jobs", { job_id: "sse-commands" })).json()) as { subscriber_token: string };
    const e = eventFactory("sse-commands");
    const at = (seconds: number) => new Date(Date.now() + seconds * 1000).toISOString();
    const plain = readStream(`${sandbox.http}/v1/jobs/sse-commands/stream?token=${created.subscriber_token}`, {}, () => {});
    const detailed = readStream(`${sandbox.http}/v1/jobs/sse-commands/stream?detail=true&token=${created.subscriber_token}`, {}, () => {
      void (async () => {
        const transfer = { input_id: "image.tar", unit: "Bytes", step_index: [0, 2] as [number, number] };
        await api("POST", "/v1/jobs/sse-commands/events", { v: 1, events: [e.started("transfer", undefined, 1, { input_id: "image.tar", at: at(0) }), e.progress("transfer", undefined, [60, 1024], { ...transfer, at: at(0.1) })] });
        await new Promise((resolve) => setTimeout(resolve, 1500));
        await api("POST", "/v1/jobs/sse-commands/events", e.progress("transfer", undefined, [0, 1024], { ...transfer, message: "Transfer retried", at: at(1.5) }));
        await new Promise((resolve) => setTimeout(resolve, 1500));
        await api("POST", "/v1/jobs/sse-commands/events", { v: 1, events: [e.completed("transfer", undefined, { input_id: "image.tar", at: at(3) }), e.jobCompleted()] });
      })();
    });
    const received = await detailed;
    const progress = received.filter((r) => r.type === "assembly_execution_progress").map((r) => JSON.parse(r.data) as { progress_combined: number | null; detail: { in_flight: { message: string | null; progress: number[]; unit: string; at: string }[]; in_flight_total: number } });
    expect(progress.every((snapshot) => snapshot.progress_combined === null)).toBe(true);
    const retried = progress.find((snapshot) => snapshot.detail.in_flight[0]?.message === "Transfer retried");
    expect(retried?.detail).toMatchObject({ in_flight_total: 1, in_flight: [{ step: "transfer", input_id: "image.tar", unit: "Bytes", step_index: [0, 2], progress: [0, 1024] }] });
    expect(Date.parse(retried!.detail.in_flight[0]!.at)).toBeGreaterThan(0);
    expect(progress.some((snapshot) => snapshot.detail.in_flight[0]?.progress[0] === 60)).toBe(true);
    expect(received.at(-1)).toEqual({ type: "message", data: "assembly_finished" });
    expect((await plain).map((r) => r.type)).toEqual(["job_finished", "message"]);
  }, 30_000);

  it("pages the in-flight executions of GET ?detail=true, the most recently reported first, with their total", async () => {
    await api("POST", "/v1/jobs", { job_id: "paged-commands" });
    const e = eventFactory("paged-commands");
    const base = Date.parse("2026-11-22T10:00:00.000Z");
    const at = (i: number) => new Date(base + i * 1000).toISOString();
    await api("POST", "/v1/jobs/paged-commands/events", { v: 1, events: Array.from({ length: 150 }, (_, i) => e.progress("copy", undefined, [i, 1000], { input_id: `part-${i}`, at: at(i) })) });
    const page = async (query: string) => (await (await api("GET", `/v1/jobs/paged-commands?detail=true${query}`)).json()) as { detail: { in_flight: { input_id: string; at: string }[]; in_flight_total: number } };
    const deadline = Date.now() + 15_000;
    while ((await page("")).detail.in_flight_total < 150 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
    const first = await page("");
    const second = await page("&in_flight_page=1");
    expect(first.detail.in_flight_total).toBe(150);
    expect(first.detail.in_flight.map((execution) => execution.at)).toEqual(Array.from({ length: 100 }, (_, i) => at(149 - i)));
    expect(second.detail.in_flight.map((execution) => execution.input_id)).toEqual(Array.from({ length: 50 }, (_, i) => `part-${49 - i}`));
    expect((await page("&in_flight_page=2&in_flight_per_page=60")).detail.in_flight.map((execution) => execution.input_id)).toEqual(Array.from({ length: 30 }, (_, i) => `part-${29 - i}`));
    expect((await api("GET", "/v1/jobs/paged-commands?detail=true&in_flight_per_page=0")).status).toBe(400);
  }, 30_000);

  it("refuses a stream without credentials, or with a token for another job", async () => {
    await api("POST", "/v1/jobs", { job_id: "sse-3" });
    const other = (await (await api("POST", "/v1/jobs", { job_id: "sse-4" })).json()) as { subscriber_token: string };
    expect((await fetch(`${sandbox.http}/v1/jobs/sse-3/stream`)).status).toBe(401);
    expect((await fetch(`${sandbox.http}/v1/jobs/sse-3/stream?token=${other.subscriber_token}`)).status).toBe(401);
    expect((await fetch(`${sandbox.http}/v1/jobs/nope/stream`, { headers: { authorization: `Bearer ${sandbox.apiKey}` } })).status).toBe(404);
  });

  it("bounds the streams open per credential, answering 429 too_many_streams, and frees a slot when a stream ends", async () => {
    const created = (await (await api("POST", "/v1/jobs", { job_id: "sse-5" })).json()) as { subscriber_token: string };
    const url = `${sandbox.http}/v1/jobs/sse-5/stream?token=${created.subscriber_token}`;
    const open: AbortController[] = [];
    for (let i = 0; i < STREAMS.perCredential; i++) {
      const controller = new AbortController();
      const response = await fetch(url, { signal: controller.signal });
      expect(response.status).toBe(200);
      open.push(controller);
    }
    const refused = await fetch(url);
    expect(refused.status).toBe(429);
    expect(refused.headers.get("retry-after")).toBe("10");
    expect(await refused.json()).toMatchObject({ error: { code: "too_many_streams", message: expect.stringContaining(`${STREAMS.perCredential} update streams`) } });
    // Another credential of the same tenant is not held back by this one's streams.
    const other = await fetch(`${sandbox.http}/v1/jobs/sse-5/stream`, { headers: { authorization: `Bearer ${sandbox.apiKey}` } });
    expect(other.status).toBe(200);
    await other.body?.cancel();
    open.pop()!.abort();
    let again = 0;
    for (let attempt = 0; attempt < 50 && again !== 200; attempt++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      const response = await fetch(url);
      again = response.status;
      await response.body?.cancel();
    }
    expect(again).toBe(200);
    for (const controller of open) controller.abort();
  }, 30_000);
});
