/**
 * Fan-out through the sandbox: 10,000 WebSocket connections (clients in a child process), each
 * subscribed to 2 of 100 jobs (20,000 connection–job pairs). Every ~2 s every job gets a new
 * progress value over SQS; the ticker pushes it. Measured over several rounds, after a few
 * rounds of warm-up.
 *
 * Prints:
 *   fanout_subscribers       connections served
 *   fanout_tick_ms           median time of a tick that served them all (load, render, post)
 *   event_to_subscriber_p99_ms   99th percentile from the SQS send to a client's receipt
 *   posts_per_tick           management-API posts in such a tick (one per connection, not per pair)
 */
import { SendMessageBatchCommand, SQSClient } from "@aws-sdk/client-sqs";
import { fork } from "node:child_process";
import { join } from "node:path";
import type { Event } from "../core/contract.ts";
import type { TickReport } from "../functions/ticker.ts";
import { startSandbox } from "../sandbox/sandbox.ts";
import { createSandboxLog } from "./support.ts";

const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 10_000);
const JOBS = Number(process.env.BENCH_JOBS ?? 100);
const JOBS_PER_CONNECTION = 2;
/** Rounds before measuring, so that the figures are of a warmed-up service (JIT, sockets). */
const WARMUP_ROUNDS = 6;
const ROUNDS = 6;
const ROUND_MS = 2_000;
/** The progress every job reports in a round: distinct and growing, so a receipt names its round. */
const percentAt = (round: number) => round * 5;

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

export async function main(): Promise<void> {
  const ticks: TickReport[] = [];
  const sandbox = await startSandbox({ port: 0, memory: true, dataDir: "", log: createSandboxLog(), batchingWindowMs: 100, onTick: (report) => ticks.push(report), ...(process.env.BENCH_POST_THREADS === undefined ? {} : { postThreads: Number(process.env.BENCH_POST_THREADS) }) });
  const clients = fork(join(import.meta.dirname, "fanout-clients.ts"), [], { stdio: ["ignore", "inherit", "inherit", "ipc"] });
  const ask = <T>(message: unknown, answer: string) =>
    new Promise<T>((resolve) => {
      const listener = (reply: { type: string }) => {
        if (reply.type !== answer) return;
        clients.off("message", listener);
        resolve(reply as T);
      };
      clients.on("message", listener);
      clients.send(message as never);
    });
  const sqs = new SQSClient({ region: "us-east-1", endpoint: sandbox.sqsEndpoint, credentials: { accessKeyId: "bench", secretAccessKey: "bench" } });
  try {
    const api = (path: string, body: unknown) =>
      fetch(`${sandbox.http}${path}`, { method: "POST", headers: { authorization: `Bearer ${sandbox.apiKey}` }, body: JSON.stringify(body) });
    const jobs = Array.from({ length: JOBS }, (_, i) => `fan-${i}`);
    for (let i = 0; i < jobs.length; i += 50) {
      await Promise.all(jobs.slice(i, i + 50).map((job_id) => api("/v1/jobs", { job_id, plan: { steps: { encoded: { robot: "/video/encode", use: ":original" } } }, originals: [{ original_id: "f1", mime: "video/mp4" }], emit_execution_progress: true })));
    }
    // Connection c watches jobs c mod JOBS and (c + JOBS/2) mod JOBS; connections with the same pair share a token.
    const pairOf = (c: number) => [jobs[c % JOBS]!, jobs[(c + JOBS / 2) % JOBS]!];
    const tokens = new Map<string, string>();
    for (let c = 0; c < Math.min(CONNECTIONS, JOBS); c++) {
      const pair = pairOf(c);
      const { token } = (await (await api("/v1/tokens", { job_ids: pair, expires_in_seconds: 3600 })).json()) as { token: string };
      tokens.set(pair.join(","), token);
    }
    const connections = Array.from({ length: CONNECTIONS }, (_, c) => ({ token: tokens.get(pairOf(c).join(","))!, jobs: pairOf(c) }));
    const setupStarted = Date.now();
    const ready = await ask<{ connections: number }>({ type: "connect", url: sandbox.websocket, connections }, "ready");
    process.stderr.write(`${ready.connections} connections subscribed to ${CONNECTIONS * JOBS_PER_CONNECTION} (connection, job) pairs in ${((Date.now() - setupStarted) / 1000).toFixed(1)} s\n`);
    await new Promise((resolve) => setTimeout(resolve, 3 * ROUND_MS)); // let the subscribe-time pushes settle
    ticks.length = 0;

    const sentAt = new Map<string, number>();
    let eventId = 0;
    for (let round = 1; round <= WARMUP_ROUNDS + ROUNDS; round++) {
      const started = Date.now();
      if (round === WARMUP_ROUNDS + 1) ticks.length = 0;
      const bodies = jobs.map((job) =>
        JSON.stringify({ v: 1, type: "step.progress", job_id: job, event_id: `r${++eventId}`, at: new Date().toISOString(), step: "encoded", original_id: "f1", attempt: 1, progress: [percentAt(round), 100] } satisfies Event),
      );
      for (let i = 0; i < bodies.length; i += 10) {
        const batch = bodies.slice(i, i + 10);
        const at = Date.now();
        await sqs.send(new SendMessageBatchCommand({ QueueUrl: sandbox.queueUrl, Entries: batch.map((body, n) => ({ Id: String(n), MessageBody: body })) }));
        for (let n = 0; n < batch.length; n++) sentAt.set(`${jobs[i + n]}:${percentAt(round)}`, at);
      }
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, ROUND_MS - (Date.now() - started))));
    }
    await new Promise((resolve) => setTimeout(resolve, 3 * ROUND_MS));
    const { seen } = await ask<{ seen: [string, number, number][] }>({ type: "report" }, "report");
    const latencies = seen.flatMap(([job, progress, at]) => {
      const sent = progress > percentAt(WARMUP_ROUNDS) ? sentAt.get(`${job}:${progress}`) : undefined;
      return sent === undefined ? [] : [at - sent];
    });
    const expected = CONNECTIONS * JOBS_PER_CONNECTION * ROUNDS;
    const full = ticks.filter((tick) => tick.posts >= CONNECTIONS * 0.99);
    process.stderr.write(
      `received ${latencies.length} of ${expected} (connection, job, value) updates, p50 ${percentile(latencies, 50)} ms, max ${percentile(latencies, 100)} ms; ticks: ${ticks.map((t) => `${t.jobs} jobs/${t.posts} posts/${t.ms} ms`).join(", ")}\n`,
    );
    console.log(`fanout_subscribers: ${CONNECTIONS}`);
    console.log(`fanout_tick_ms: ${full.length === 0 ? "n/a" : percentile(full.map((t) => t.ms), 50)}`);
    console.log(`event_to_subscriber_p99_ms: ${percentile(latencies, 99)}`);
    console.log(`posts_per_tick: ${Math.max(0, ...ticks.map((t) => t.posts))}`);
  } finally {
    clients.send({ type: "close" });
    sqs.destroy();
    await sandbox.stop();
  }
}
