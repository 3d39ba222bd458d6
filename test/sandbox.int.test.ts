import { afterAll, describe, expect, it } from "vitest";
import { SendMessageCommand, SQSClient } from "@aws-sdk/client-sqs";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import type { Event } from "../core/contract/events.ts";
import type { Snapshot } from "../core/contract/snapshot.ts";
import { silentLog } from "../functions/config.ts";
import { startSandbox, type Sandbox } from "../sandbox/sandbox.ts";
import { eventFactory, VIDEO_PLAN } from "./support/events.ts";
import { fold } from "./support/fold.ts";
import { renderSnapshot } from "../core/estimator/snapshot.ts";

const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "headway-sandbox-"));
  dirs.push(dir);
  return dir;
}

const api = (sandbox: Sandbox, method: string, path: string, body?: unknown) =>
  fetch(`${sandbox.http}${path}`, {
    method,
    headers: { authorization: `Bearer ${sandbox.apiKey}`, "content-type": "application/json" },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });

async function waitForSnapshot(sandbox: Sandbox, jobId: string, isDone: (snapshot: Snapshot) => boolean, timeoutMs = 20_000): Promise<Snapshot> {
  const deadline = Date.now() + timeoutMs;
  let last: Snapshot | undefined;
  while (Date.now() < deadline) {
    const response = await api(sandbox, "GET", `/v1/jobs/${jobId}?detail=true`);
    if (response.status === 200) {
      last = (await response.json()) as Snapshot;
      if (isDone(last)) return last;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`job ${jobId} did not get there: ${JSON.stringify(last)}`);
}

const truthOf = (snapshot: Snapshot) => ({ files: snapshot.detail!.true_progress_per_original_file, combined: snapshot.detail!.true_progress_combined, indicators: snapshot.indicators, status: snapshot.status });

describe("sandbox", () => {
  it("takes events over HTTP and straight from SQS, and serves what the estimator computes", async () => {
    const sandbox = await startSandbox({ port: 0, memory: true, dataDir: "", log: silentLog, batchingWindowMs: 50 });
    try {
      const created = await api(sandbox, "POST", "/v1/jobs", { job_id: "sb-1", plan: { steps: VIDEO_PLAN }, expect_originals: 2 });
      expect(created.status).toBe(201);
      const e = eventFactory("sb-1");
      const overHttp: Event[] = [e.original("f1", "video/mp4"), e.original("f2", "image/png"), e.progress("encoded", "f1", [40, 100])];
      expect((await api(sandbox, "POST", "/v1/jobs/sb-1/events", { v: 1, events: overHttp })).status).toBe(202);
      const overSqs: Event[] = [e.completed("resized", "f2"), e.added(4, "t1", { label: "pages" }), e.done(1, "t1", { label: "pages" })];
      const sqs = new SQSClient({ region: "us-east-1", endpoint: sandbox.sqsEndpoint, credentials: { accessKeyId: "x", secretAccessKey: "x" } });
      await sqs.send(new SendMessageCommand({ QueueUrl: sandbox.queueUrl, MessageBody: JSON.stringify({ v: 1, events: overSqs }) }));
      sqs.destroy();
      const declared = e.plan(VIDEO_PLAN, { expect_originals: 2 });
      const expected = renderSnapshot(fold([[declared], [...overHttp, ...overSqs]], "sb-1"), { detail: true });
      // A GET may land between a batch's writes (head, label bucket, parts): wait for the whole batch.
      const snapshot = await waitForSnapshot(sandbox, "sb-1", (s) => JSON.stringify(truthOf(s)) === JSON.stringify(truthOf(expected)));
      expect(truthOf(snapshot)).toEqual(truthOf(expected));
    } finally {
      await sandbox.stop();
    }
  });

  it("keeps events the API acknowledged across a restart", async () => {
    const dataDir = tempDir();
    // No reducer in the first run: the acknowledged events can only be in the queue when it stops.
    const first = await startSandbox({ port: 0, memory: false, dataDir, log: silentLog, reducerConcurrency: 0 });
    const e = eventFactory("sb-2");
    await api(first, "POST", "/v1/jobs", { job_id: "sb-2" });
    const events = Array.from({ length: 40 }, (_, i) => e.added(1, `task-${i}`));
    for (let i = 0; i < events.length; i += 10) expect((await api(first, "POST", "/v1/jobs/sb-2/events", { v: 1, events: events.slice(i, i + 10) })).status).toBe(202);
    const apiKey = first.apiKey;
    await first.stop();
    const second = await startSandbox({ port: 0, memory: false, dataDir, log: silentLog });
    try {
      expect(second.apiKey).toBe(apiKey);
      const snapshot = await waitForSnapshot(second, "sb-2", (s) => s.indicators[0]?.total === 40, 60_000);
      expect(snapshot.indicators).toEqual([{ label: null, done: 0, total: 40 }]);
    } finally {
      await second.stop();
    }
  }, 90_000);

  it("prints one JSON line when started with --json, and stops cleanly on Ctrl-C", async () => {
    const child = spawn(process.execPath, [join(import.meta.dirname, "..", "bin", "headway.ts"), "start", "--port", "0", "--memory", "--json"], { stdio: ["ignore", "pipe", "pipe"] });
    const firstLine = await new Promise<string>((resolve, reject) => {
      createInterface({ input: child.stdout! }).once("line", resolve);
      child.once("exit", (code) => reject(new Error(`exited ${code}`)));
    });
    const ready = JSON.parse(firstLine) as Record<string, unknown>;
    expect(Object.keys(ready)).toEqual(["http", "dashboard", "websocket", "sqs_endpoint", "queue_url", "dynamodb_endpoint", "api_key", "webhook_secret", "admin_token"]);
    const health = await fetch(`${ready.http}/v1/openapi.json`);
    expect(health.status).toBe(200);
    expect(ready.dashboard).toBe(`${ready.http}/dashboard/`);
    const config = (await (await fetch(`${ready.dashboard}config.json`)).json()) as Record<string, unknown>;
    expect(config).toEqual({ v: 1, http_url: null, websocket_url: ready.websocket, api_key: ready.api_key });
    const exited = new Promise<number | null>((resolve) => child.once("exit", resolve));
    child.kill("SIGINT");
    expect(await exited).toBe(0);
  });
});
