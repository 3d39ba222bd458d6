import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SendMessageCommand, SQSClient } from "@aws-sdk/client-sqs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { silentLog } from "../functions/config.ts";
import { startSandbox, type Sandbox } from "../sandbox/sandbox.ts";
import { eventFactory } from "./support/events.ts";
import { connect } from "./support/ws-client.ts";

interface MetricsBody {
  namespace: string;
  totals: Record<string, number>;
  series: { name: string; unit: string; dimensions: Record<string, string>; sample_count: number; sum: number; min: number; max: number }[];
}

let sandbox: Sandbox;
let hook: { url: string; hits: number; close(): Promise<void> };
beforeAll(async () => {
  sandbox = await startSandbox({ port: 0, memory: true, dataDir: "", log: silentLog, batchingWindowMs: 20, tickMs: 300 });
  // A receiver that fails the first attempt and takes the second: one retry, one delivery.
  const state = { hits: 0 };
  const server: Server = createServer((request, response) => {
    request.resume();
    request.on("end", () => response.writeHead(++state.hits === 1 ? 500 : 204).end());
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  hook = {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`,
    get hits() { return state.hits; },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
});
afterAll(async () => {
  await sandbox?.stop();
  await hook?.close();
});

const api = (method: string, path: string, body?: unknown, apiKey = sandbox.apiKey) =>
  fetch(`${sandbox.http}${path}`, { method, headers: { authorization: `Bearer ${apiKey}` }, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });

async function metrics(): Promise<MetricsBody> {
  const response = await api("GET", "/v1/metrics");
  expect(response.status).toBe(200);
  return (await response.json()) as MetricsBody;
}

async function until(isDone: (body: MetricsBody) => boolean, timeoutMs = 20_000): Promise<MetricsBody> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const body = await metrics();
    if (isDone(body)) return body;
    if (Date.now() > deadline) throw new Error(`metrics did not get there: ${JSON.stringify(body.totals)}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe("sandbox metrics (GET /v1/metrics)", () => {
  it("counts what a job went through: events applied and rejected, ticks and posts, a webhook retried then delivered", async () => {
    const jobId = "metrics-1";
    const created = await api("POST", "/v1/jobs", { job_id: jobId, notify_url: hook.url });
    expect(created.status).toBe(201);
    const { subscriber_token } = (await created.json()) as { subscriber_token: string };
    const client = await connect(`${sandbox.websocket}?token=${subscriber_token}`);
    client.send({ action: "subscribe", job_id: jobId });
    await client.next((f) => f.event === "subscribed");

    const e = eventFactory(jobId);
    expect((await api("POST", `/v1/jobs/${jobId}/events`, { v: 1, events: [e.added(2, "t"), e.done(1, "t")] })).status).toBe(202);
    // A message the API would have refused at once reaches the reducer straight from the queue, and is rejected there.
    const sqs = new SQSClient({ region: "us-east-1", endpoint: sandbox.sqsEndpoint, credentials: { accessKeyId: "x", secretAccessKey: "x" } });
    await sqs.send(new SendMessageCommand({ QueueUrl: sandbox.queueUrl, MessageBody: JSON.stringify({ v: 1, type: "no.such.event", job_id: jobId }) }));
    sqs.destroy();
    expect((await api("POST", `/v1/jobs/${jobId}/events`, { v: 1, events: [e.done(1, "t"), e.jobCompleted()] })).status).toBe(202);
    await client.next((f) => f.event === "job_finished", 15_000);
    client.socket.close();

    const body = await until((m) => (m.totals.WebhooksDelivered ?? 0) >= 1 && (m.totals.EventsRejected ?? 0) >= 1 && (m.totals.EventsApplied ?? 0) >= 4);
    expect(body.namespace).toBe("Headway");
    expect(body.totals.EventsApplied).toBe(4);
    expect(body.totals.EventsRejected).toBe(1);
    const rejected = body.series.filter((s) => s.name === "EventsRejected");
    expect(rejected).toHaveLength(1);
    expect(rejected[0]!.dimensions.code).toMatch(/^invalid_/);
    expect(body.totals.Ticks).toBeGreaterThanOrEqual(1);
    expect(body.totals.Posts).toBeGreaterThanOrEqual(1);
    expect(body.totals.WebhooksEnqueued).toBe(1);
    expect(body.totals.WebhookRetries).toBe(1);
    expect(body.totals.WebhooksDelivered).toBe(1);
    expect(body.totals.WebhookGiveUps ?? 0).toBe(0);
    const lag = body.series.find((s) => s.name === "IngestLag")!;
    expect(lag).toMatchObject({ unit: "Milliseconds" });
    expect(lag.sample_count).toBeGreaterThanOrEqual(1);
    expect(lag.max).toBeGreaterThanOrEqual(0);
    expect(lag.max).toBeLessThan(60_000);
    const ticks = body.series.find((s) => s.name === "TickDuration")!;
    expect(ticks.sample_count).toBe(body.totals.Ticks);
  }, 40_000);

  it("is served only for the sandbox's development key", async () => {
    expect((await api("GET", "/v1/metrics", undefined, "hw_not_a_key")).status).toBe(401);
    expect((await fetch(`${sandbox.http}/v1/metrics`)).status).toBe(401);
  });
});
