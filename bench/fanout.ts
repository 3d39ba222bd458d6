/**
 * Fan-out through the sandbox: 10,000 WebSocket connections (clients in a child process), each
 * subscribed to 2 of 100 jobs (20,000 connection–job pairs). Every ~2 s every job gets a new
 * progress value over SQS (ten SendMessageBatch calls at once, as the jobs' workers would send
 * them); the ticker pushes it. Two phases in one run:
 * - steady: rounds every 2 s (a few of warm-up, then measured), as a busy service sees them:
 *   the tick time and the event→subscriber latency;
 * - paired: a round, its tick(s), a pause, then the floor: the exact deliveries those ticks
 *   posted, posted again through the same poster pool, gateway and connections with no Headway
 *   logic (no store reads, rendering or subscriber lookup); tick and floor alternate, so both see
 *   the machine in the same mood. Clients keep the first receipt of each value, so the repeats
 *   change no latency.
 *
 * Prints:
 *   fanout_subscribers       connections served
 *   fanout_tick_ms           median time of a steady tick that served them all (load, render, post)
 *   fanout_paired_tick_ms    median time of the paired rounds' ticks
 *   fanout_floor_ms          median time of the floor rounds (the same posts, nothing else)
 *   tick_over_floor          median over the pairs of tick ÷ floor (target ≤ 1.25)
 *   event_to_subscriber_p99_ms   99th percentile, over every (connection, job, round) of the steady
 *                            phase, from the SQS send to the client's first receipt of that value or
 *                            a later one (a value the next one replaced before its tick is never
 *                            sent itself: the subscriber learns it from the later value)
 *   p99_over_interval        that p99 ÷ the tick interval (target ≤ 1.25)
 *   posts_per_tick           management-API posts in such a tick (one per connection, not per pair)
 *
 * On stderr, each measured steady round's timeline from its first send: when the reducer had
 * taken all of it, the ticks around it (start–end/jobs), and when its value reached the clients.
 *
 * BENCH_CPU_PROFILE=file.cpuprofile writes a CPU profile of the main thread (the ticker's) taken
 * over the paired phase, and file.cpuprofile.windows.json the ticks' and floors' spans on the
 * profile's clock (µs, monotonic), so that samples can be told apart.
 */
import { SendMessageBatchCommand, SQSClient } from "@aws-sdk/client-sqs";
import { fork } from "node:child_process";
import { writeFileSync } from "node:fs";
import { Session } from "node:inspector/promises";
import { join } from "node:path";
import type { Event } from "../core/contract/events.ts";
import type { Delivery, Poster } from "../core/ports.ts";
import type { TickReport } from "../functions/ticker/index.ts";
import { startSandbox } from "../sandbox/sandbox.ts";
import { createSandboxLog } from "./support.ts";

const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 10_000);
const JOBS = Number(process.env.BENCH_JOBS ?? 100);
const JOBS_PER_CONNECTION = 2;
/** Rounds before measuring, so that the figures are of a warmed-up service (JIT, sockets). */
const WARMUP_ROUNDS = 6;
const ROUNDS = 6;
const PAIRS = 5;
const TICK_MS = 2_000;
/** Before a floor round and before the next paired round: lets the clients drain what they were sent. */
const PAUSE_MS = 1_000;
/** The progress every job reports in a round: distinct and growing, so a receipt names its round. */
const percentAt = (round: number) => round * 5;

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

/** The CPU profiler's clock (monotonic, µs). */
const nowUs = () => Number(process.hrtime.bigint() / 1000n);

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A tick's call to `postAll`: what it posted and how long that took. */
interface Posted {
  deliveries: readonly Delivery[];
  ms: number;
}

/** Passes the ticker's posts to the pool and keeps each call's deliveries, for the floor to post again. */
function recordingPoster(pool: Poster, posted: Posted[]): Poster {
  return {
    post: (connectionId, frame) => pool.post(connectionId, frame),
    disconnect: (connectionId) => pool.disconnect(connectionId),
    async postAll(deliveries) {
      const started = performance.now();
      const outcomes = await pool.postAll(deliveries);
      posted.push({ deliveries: [...deliveries], ms: performance.now() - started });
      return outcomes;
    },
  };
}

export async function main(): Promise<void> {
  const ticks: TickReport[] = [];
  /** Every tick's [start, end, jobs] on the wall clock (ms), for the steady rounds' timelines. */
  const tickSpans: [number, number, number][] = [];
  const posted: Posted[] = [];
  let pool: Poster | undefined;
  const windows = { ticks: [] as [number, number][], floors: [] as [number, number][] };
  const sandbox = await startSandbox({
    port: 0,
    memory: true,
    dataDir: "",
    log: createSandboxLog(),
    batchingWindowMs: 100,
    // Two batches at once, as Lambda runs batches side by side (its SQS event source starts five
    // pollers): with one, a round that the window cut in two was reduced, and pushed, in two goes.
    reducerConcurrency: 2,
    tickMs: TICK_MS,
    onTick: (report) => {
      ticks.push(report);
      tickSpans.push([Date.now() - report.ms, Date.now(), report.jobs]);
      const endUs = nowUs();
      windows.ticks.push([endUs - report.ms * 1000, endUs]);
    },
    wrapTickerPoster: (poster) => recordingPoster((pool = poster), posted),
    ...(process.env.BENCH_POST_THREADS === undefined ? {} : { postThreads: Number(process.env.BENCH_POST_THREADS) }),
  });
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
    await sleep(3 * TICK_MS); // let the subscribe-time pushes settle

    const sentAt = new Map<string, number>();
    let eventId = 0;
    const sendRound = async (round: number) => {
      const bodies = jobs.map((job) =>
        JSON.stringify({ v: 1, type: "step.progress", job_id: job, event_id: `r${++eventId}`, at: new Date().toISOString(), step: "encoded", original_id: "f1", attempt: 1, progress: [percentAt(round), 100] } satisfies Event),
      );
      // Side by side, as the jobs' workers would report: a round lands at one moment.
      await Promise.all(
        Array.from({ length: Math.ceil(bodies.length / 10) }, async (_, chunk) => {
          const batch = bodies.slice(chunk * 10, chunk * 10 + 10);
          const at = Date.now();
          await sqs.send(new SendMessageBatchCommand({ QueueUrl: sandbox.queueUrl, Entries: batch.map((body, n) => ({ Id: String(n), MessageBody: body })) }));
          for (let n = 0; n < batch.length; n++) sentAt.set(`${jobs[chunk * 10 + n]}:${percentAt(round)}`, at);
        }),
      );
    };

    // Steady: a round every tick interval.
    let steadyTicks: TickReport[] = [];
    const roundSentAt: number[] = [];
    const reducedAt: number[] = [];
    const baseMessages = sandbox.reducerStats.messages;
    const watchReducer = setInterval(() => {
      const rounds = Math.floor((sandbox.reducerStats.messages - baseMessages) / JOBS);
      while (reducedAt.length < rounds) reducedAt.push(Date.now());
    }, 5);
    for (let round = 1; round <= WARMUP_ROUNDS + ROUNDS; round++) {
      const started = (roundSentAt[round] = Date.now());
      if (round === WARMUP_ROUNDS + 1) ticks.length = 0;
      await sendRound(round);
      await sleep(Math.max(0, TICK_MS - (Date.now() - started)));
    }
    await sleep(3 * TICK_MS);
    steadyTicks = ticks.splice(0);
    clearInterval(watchReducer);
    posted.length = 0;

    // Paired: a round and the ticks that push it (every job changed once, so until they have
    // covered every job), a pause, then the same deliveries again, with nothing else.
    const profile = process.env.BENCH_CPU_PROFILE;
    const session = profile === undefined ? undefined : new Session();
    if (session !== undefined) {
      session.connect();
      await session.post("Profiler.enable");
      await session.post("Profiler.setSamplingInterval", { interval: 500 });
      await session.post("Profiler.start");
      windows.ticks.length = 0;
    }
    const pairs: { tickMs: number; postMs: number; floorMs: number; posts: number }[] = [];
    for (let pair = 1; pair <= PAIRS; pair++) {
      const round = WARMUP_ROUNDS + ROUNDS + pair;
      ticks.length = 0;
      posted.length = 0;
      await sendRound(round);
      const deadline = Date.now() + 120_000;
      while (ticks.reduce((sum, tick) => sum + tick.jobs, 0) < JOBS && Date.now() < deadline) await sleep(20);
      const roundTicks = ticks.splice(0);
      const roundPosts = posted.splice(0);
      await sleep(PAUSE_MS);
      let floorMs = 0;
      for (const { deliveries } of roundPosts) {
        const started = performance.now();
        const startedUs = nowUs();
        await pool!.postAll(deliveries);
        floorMs += performance.now() - started;
        windows.floors.push([startedUs, nowUs()]);
      }
      pairs.push({
        tickMs: roundTicks.reduce((sum, tick) => sum + tick.ms, 0),
        postMs: roundPosts.reduce((sum, call) => sum + call.ms, 0),
        floorMs,
        posts: roundPosts.reduce((sum, call) => sum + call.deliveries.length, 0),
      });
      await sleep(PAUSE_MS);
    }
    if (session !== undefined) {
      const { profile: taken } = await session.post("Profiler.stop");
      writeFileSync(profile!, JSON.stringify(taken));
      writeFileSync(`${profile!}.windows.json`, JSON.stringify(windows));
      session.disconnect();
    }

    await sleep(TICK_MS);
    const isSteadyMeasured = (progress: number) => progress > percentAt(WARMUP_ROUNDS) && progress <= percentAt(WARMUP_ROUNDS + ROUNDS);
    const { seen } = await ask<{ seen: [number, string, number, number][] }>({ type: "report" }, "report");
    // An event has reached a subscriber when the subscriber holds its value or a later one (the
    // ticker sends a job's latest state; a value replaced before its tick is never sent itself).
    const receipts = new Map<string, [number, number][]>();
    for (const [connection, job, progress, at] of seen) {
      const key = `${connection} ${job}`;
      let list = receipts.get(key);
      if (list === undefined) receipts.set(key, (list = []));
      list.push([progress, at]);
    }
    const latencies: number[] = [];
    let unreached = 0;
    for (let c = 0; c < CONNECTIONS; c++) {
      for (const job of pairOf(c)) {
        const list = receipts.get(`${c} ${job}`) ?? [];
        for (let round = WARMUP_ROUNDS + 1; round <= WARMUP_ROUNDS + ROUNDS; round++) {
          const sent = sentAt.get(`${job}:${percentAt(round)}`)!;
          const reached = list.reduce((first, [progress, at]) => (progress >= percentAt(round) && at < first ? at : first), Infinity);
          if (reached === Infinity) unreached++;
          latencies.push(reached - sent);
        }
      }
    }
    // Each measured round's timeline, from its first send: reduced (every event of the round through
    // the reducer), the ticks around it (start–end/jobs), and when its value reached the clients.
    for (let round = WARMUP_ROUNDS + 1; round <= WARMUP_ROUNDS + ROUNDS; round++) {
      const t0 = roundSentAt[round]!;
      const received = seen.filter(([, , progress]) => progress === percentAt(round)).map(([, , , at]) => at - t0);
      const around = tickSpans.filter(([start, end]) => end > t0 - 500 && start < t0 + 5_000).map(([start, end, jobs]) => `${start - t0}–${end - t0}/${jobs}`);
      process.stderr.write(
        `round ${round}: reduced +${(reducedAt[round - 1] ?? NaN) - t0} ms; ticks ${around.join(" ")}; received ${received.length}: first +${percentile(received, 0)}, p50 +${percentile(received, 50)}, p99 +${percentile(received, 99)}, last +${percentile(received, 100)}\n`,
      );
    }
    const receivedAsSent = seen.filter(([, , progress]) => isSteadyMeasured(progress)).length;
    const expected = CONNECTIONS * JOBS_PER_CONNECTION * ROUNDS;
    const full = steadyTicks.filter((tick) => tick.posts >= CONNECTIONS * 0.99);
    process.stderr.write(
      `steady: of ${expected} (connection, job, value) updates ${receivedAsSent} were received, ${expected - receivedAsSent - unreached} reached the client in a later value, ${unreached} never; p50 ${percentile(latencies, 50)} ms, max ${percentile(latencies, 100)} ms; ticks: ${steadyTicks.map((t) => `${t.jobs} jobs/${t.posts} posts/${t.ms} ms`).join(", ")}\n` +
        `paired (tick ms, of which postAll ms / floor ms / posts): ${pairs.map((p) => `${Math.round(p.tickMs)}, ${Math.round(p.postMs)} / ${Math.round(p.floorMs)} / ${p.posts}`).join("; ")}\n`,
    );
    const p99 = percentile(latencies, 99);
    console.log(`fanout_subscribers: ${CONNECTIONS}`);
    console.log(`fanout_tick_ms: ${full.length === 0 ? "n/a" : percentile(full.map((t) => t.ms), 50)}`);
    console.log(`fanout_paired_tick_ms: ${Math.round(percentile(pairs.map((p) => p.tickMs), 50))}`);
    console.log(`fanout_floor_ms: ${Math.round(percentile(pairs.map((p) => p.floorMs), 50))}`);
    console.log(`tick_over_floor: ${percentile(pairs.map((p) => p.tickMs / p.floorMs), 50).toFixed(2)}`);
    // More than 1 % of the updates never reached their client (not even in a later value): no p99.
    console.log(`event_to_subscriber_p99_ms: ${Number.isFinite(p99) ? p99 : "n/a"}`);
    console.log(`p99_over_interval: ${Number.isFinite(p99) ? (p99 / TICK_MS).toFixed(2) : "n/a"}`);
    console.log(`posts_per_tick: ${Math.max(0, ...steadyTicks.map((t) => t.posts))}`);
  } finally {
    clients.send({ type: "close" });
    sqs.destroy();
    await sandbox.stop();
  }
}
