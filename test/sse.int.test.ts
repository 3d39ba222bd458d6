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
