import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { Webhook } from "standardwebhooks";
import { createHttpWebhookTransport } from "../functions/adapters/webhook-http.ts";
import { silentLog } from "../functions/config.ts";
import { startSandbox, type Sandbox } from "../sandbox/sandbox.ts";
import { eventFactory } from "./support/events.ts";

interface Received {
  path: string;
  headers: Record<string, string>;
  body: string;
  at: number;
}

/** A real HTTP receiver on loopback that answers each request with the next status of a script. */
async function receiver(script: (path: string, count: number) => { status: number; location?: string }) {
  const received: Received[] = [];
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      received.push({ path: request.url ?? "", headers: request.headers as Record<string, string>, body: Buffer.concat(chunks).toString(), at: Date.now() });
      const answer = script(request.url ?? "", received.filter((r) => r.path === request.url).length);
      response.writeHead(answer.status, answer.location === undefined ? {} : { location: answer.location }).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { url, received, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

let sandbox: Sandbox;
beforeAll(async () => {
  sandbox = await startSandbox({ port: 0, memory: true, dataDir: "", log: silentLog, batchingWindowMs: 20, tickMs: 300 });
});
afterAll(async () => sandbox?.stop());

const api = (method: string, path: string, body?: unknown) =>
  fetch(`${sandbox.http}${path}`, { method, headers: { authorization: `Bearer ${sandbox.apiKey}` }, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });

async function finishJob(jobId: string, notifyUrl: string) {
  expect((await api("POST", "/v1/jobs", { job_id: jobId, notify_url: notifyUrl })).status).toBe(201);
  const e = eventFactory(jobId);
  expect((await api("POST", `/v1/jobs/${jobId}/events`, { v: 1, events: [e.added(2, "t"), e.done(2, "t"), e.jobCompleted()] })).status).toBe(202);
}

async function until<T>(read: () => Promise<T> | T, isDone: (value: T) => boolean, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (isDone(value)) return value;
    if (Date.now() > deadline) throw new Error(`timed out; last: ${JSON.stringify(value).slice(0, 1000)}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe("webhooks", () => {
  it("delivers the finished snapshot, signed so that the standardwebhooks library verifies it, and retries within 5 s with the same id", async () => {
    const hook = await receiver((_path, count) => ({ status: count === 1 ? 500 : 204 }));
    try {
      await finishJob("wh-1", `${hook.url}/hooks/headway`);
      await until(() => hook.received.length, (n) => n >= 2);
      const [first, second] = hook.received as [Received, Received];
      expect(second.headers["webhook-id"]).toBe(first.headers["webhook-id"]);
      expect(second.body).toBe(first.body);
      expect(second.at - first.at).toBeLessThan(7_000);
      const verified = new Webhook(sandbox.webhookSecret).verify(second.body, second.headers) as { type: string; data: { job_id: string; status: string; version: number } };
      expect(verified).toMatchObject({ type: "job.finished", data: { job_id: "wh-1", status: "completed" } });
      expect(verified.data.version).toBeGreaterThan(0);
      expect(() => new Webhook(`whsec_${Buffer.from("another secret").toString("base64")}`).verify(second.body, second.headers)).toThrow();
      const log = await until(
        async () => ((await (await api("GET", "/v1/jobs/wh-1/webhooks")).json()) as { deliveries: { outcome: string; attempt: number; status: number }[] }).deliveries,
        (deliveries) => deliveries.some((d) => d.outcome === "delivered"),
      );
      expect(log.map((d) => [d.attempt, d.outcome, d.status])).toEqual([
        [2, "delivered", 204],
        [1, "failed", 500],
      ]);
    } finally {
      await hook.close();
    }
  }, 30_000);

  it("sends one job.progress webhook per milestone the job asked for, then job.finished", async () => {
    const hook = await receiver(() => ({ status: 200 }));
    try {
      expect((await api("POST", "/v1/jobs", { job_id: "wh-4", notify_url: `${hook.url}/m`, notify_milestones: [25, 50, 75] })).status).toBe(201);
      const e = eventFactory("wh-4");
      await api("POST", "/v1/jobs/wh-4/events", { v: 1, events: [e.added(100, "t"), e.done(30, "t")] });
      await until(() => hook.received.length, (n) => n >= 1);
      await api("POST", "/v1/jobs/wh-4/events", { v: 1, events: [e.done(50, "t")] });
      await until(() => hook.received.length, (n) => n >= 2);
      await api("POST", "/v1/jobs/wh-4/events", { v: 1, events: [e.done(20, "t"), e.jobCompleted()] });
      await until(() => hook.received.length, (n) => n >= 3);
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      const bodies = hook.received.map((r) => new Webhook(sandbox.webhookSecret).verify(r.body, r.headers) as { type: string; data: { progress_combined: number } });
      expect(bodies.map((b) => [b.type, b.data.progress_combined])).toEqual([
        ["job.progress", 30],
        ["job.progress", 80],
        ["job.finished", 100],
      ]);
      expect(new Set(hook.received.map((r) => r.headers["webhook-id"])).size).toBe(3);
    } finally {
      await hook.close();
    }
  }, 30_000);

  it("stops retrying after 410 Gone", async () => {
    const hook = await receiver(() => ({ status: 410 }));
    try {
      await finishJob("wh-2", `${hook.url}/gone`);
      const log = await until(
        async () => ((await (await api("GET", "/v1/jobs/wh-2/webhooks")).json()) as { deliveries: { outcome: string }[] }).deliveries,
        (deliveries) => deliveries.length > 0,
      );
      expect(log.map((d) => d.outcome)).toEqual(["gone"]);
      await new Promise((resolve) => setTimeout(resolve, 7_000));
      expect(hook.received).toHaveLength(1);
    } finally {
      await hook.close();
    }
  }, 30_000);

  it("does not follow redirects", async () => {
    const hook = await receiver((path) => (path === "/moved" ? { status: 302, location: "/elsewhere" } : { status: 200 }));
    try {
      await finishJob("wh-3", `${hook.url}/moved`);
      const log = await until(
        async () => ((await (await api("GET", "/v1/jobs/wh-3/webhooks")).json()) as { deliveries: { outcome: string; status: number }[] }).deliveries,
        (deliveries) => deliveries.length > 0,
      );
      expect(log[0]).toMatchObject({ outcome: "failed", status: 302 });
      expect(hook.received.map((r) => r.path)).toEqual(["/moved"]);
    } finally {
      await hook.close();
    }
  }, 30_000);
});

describe("webhook targets in the cloud (the address ranges: webhook-ssrf.unit.test.ts)", () => {
  it("refuses to connect to a loopback receiver, by literal address and by a name that resolves to it", async () => {
    const hook = await receiver(() => ({ status: 200 }));
    try {
      const transport = createHttpWebhookTransport({ allowPrivateAddresses: false });
      const port = new URL(hook.url).port;
      for (const url of [`http://127.0.0.1:${port}/x`, `http://localhost:${port}/x`, `http://[::1]:${port}/x`]) {
        const result = await transport.send(url, {}, "{}");
        expect(result, url).toMatchObject({ kind: "error" });
      }
      expect(hook.received).toEqual([]);
      const allowed = await createHttpWebhookTransport({ allowPrivateAddresses: true }).send(`${hook.url}/x`, {}, "{}");
      expect(allowed).toMatchObject({ kind: "response", status: 200 });
    } finally {
      await hook.close();
    }
  });
});
