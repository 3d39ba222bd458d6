/**
 * The sandbox end to end on a standard workload (many small pipeline jobs, counted-work jobs, and
 * one job of 100,000 originals), with fauxqs and dynalite persisting to disk as `npm start` does.
 * Three phases in one run:
 * - throughput: producers send the workload to SQS, the event source feeds the reducer, the
 *   reducer writes DynamoDB; timed from the first send until the queue is empty and idle.
 * - cost: a fresh sandbox's reducer handler is invoked directly with fixed batches (the messages
 *   in the order they were sent, cut as the event source cuts a full batch: 500 messages or
 *   6 MB), so the write units do not depend on how the poller's timing happened to cut batches.
 * - floor: the same messages sent to a second queue of the same SQS emulator and drained by the
 *   same event source (batch size, window) into a handler that does nothing: the transport alone.
 *
 * Prints:
 *   sandbox_events_per_s       events sent ÷ seconds until all were applied (throughput phase)
 *   pipeline_floor_events_per_s   events ÷ seconds to send and drain the same messages, no reducer
 *   pipeline_over_floor        the first ÷ the second
 *   wcu_per_event              write capacity units (DynamoDB's ReturnConsumedCapacity) ÷ events (cost phase)
 *   max_item_bytes             the largest item written (cost phase)
 *   reducer_writes_per_batch   DynamoDB writes ÷ reducer invocations (cost phase)
 *
 * `npm run bench -- pipeline cost` runs the cost phase alone (its figures never depend on the
 * machine), `… pipeline throughput` the other two.
 */
import { GetQueueAttributesCommand, SendMessageBatchCommand, SQSClient } from "@aws-sdk/client-sqs";
import type { SQSEvent, SQSRecord } from "aws-lambda";
import { createHash } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Event } from "../core/contract/events.ts";
import type { Plan } from "../core/contract/plan.ts";
import { envelopesOf } from "../core/contract/envelopes.ts";
import { createQueueWithDlq } from "../sandbox/emulators.ts";
import { startSandbox, type Sandbox } from "../sandbox/sandbox.ts";
import { startSqsPoller } from "../sandbox/sqs-poller.ts";
import { createSandboxLog } from "./support.ts";

const BIG_ORIGINALS = Number(process.env.BENCH_BIG_ORIGINALS ?? 100_000);
const SMALL_JOBS = 300;
const COUNTED_JOBS = 100;
const EVENTS_PER_MESSAGE = 100;
const SENDERS = 4;

const SMALL_PLAN: Plan["steps"] = {
  thumbs: { robot: "/video/thumbs", use: ":original", results_per_input: 2 },
  encoded: { robot: "/video/encode", use: ":original" },
  resized: { robot: "/image/resize", use: ["thumbs", ":original"] },
  stored: { robot: "/s3/store", use: ["encoded", "resized"] },
};

function workload(): { jobs: Event[][]; events: number } {
  let id = 0;
  let clock = Date.parse("2026-11-22T10:00:00.000Z");
  const common = (jobId: string) => ({ v: 1 as const, job_id: jobId, event_id: `b${++id}`, at: new Date((clock += 1)).toISOString() });
  const jobs: Event[][] = [];

  const big: Event[] = [{ ...common("big"), type: "job.declared", plan: { steps: { stored: { robot: "/s3/store", use: ":original" } } }, expect_originals: BIG_ORIGINALS }];
  for (let o = 0; o < BIG_ORIGINALS; o++) {
    const original_id = `o${o}`;
    big.push({ ...common("big"), type: "original.added", original_id, mime: "image/png" });
    big.push({ ...common("big"), type: "step.progress", step: "stored", original_id, attempt: 1, progress: [50, 100], unit: "Bytes" });
    big.push({ ...common("big"), type: "step.completed", step: "stored", original_id, attempt: 1, result_count: 1 });
  }
  jobs.push(big);

  for (let j = 0; j < SMALL_JOBS; j++) {
    const jobId = `small-${j}`;
    const events: Event[] = [{ ...common(jobId), type: "job.declared", plan: { steps: SMALL_PLAN }, expect_originals: 4 }];
    for (let o = 0; o < 4; o++) {
      const original_id = `f${o}`;
      events.push({ ...common(jobId), type: "original.added", original_id, mime: o % 2 === 0 ? "video/mp4" : "image/png" });
      for (const step of o % 2 === 0 ? ["thumbs", "encoded"] : ["resized"]) {
        events.push({ ...common(jobId), type: "step.started", step, original_id, attempt: 1 });
        for (let p = 1; p <= 4; p++) events.push({ ...common(jobId), type: "step.progress", step, original_id, attempt: 1, progress: [p * 20, 100] });
        events.push({ ...common(jobId), type: "step.completed", step, original_id, attempt: 1, result_count: step === "thumbs" ? 2 : 1 });
      }
    }
    jobs.push(events);
  }

  for (let j = 0; j < COUNTED_JOBS; j++) {
    const jobId = `counted-${j}`;
    const events: Event[] = [{ ...common(jobId), type: "job.declared" }];
    for (let t = 0; t < 50; t++) {
      const task_id = `task-${t}`;
      events.push({ ...common(jobId), type: "indicator.added", label: t % 3 === 0 ? "tiles" : null, amount: 10, task_id, attempt: 1 });
      for (let d = 0; d < 5; d++) events.push({ ...common(jobId), type: "indicator.done", label: t % 3 === 0 ? "tiles" : null, amount: 2, task_id, attempt: 1 });
    }
    jobs.push(events);
  }
  return { jobs, events: jobs.reduce((sum, events) => sum + events.length, 0) };
}

/** Message bodies in the order producers would send them: jobs interleaved, each job's events in order. */
function messageBodies(jobs: Event[][]): string[] {
  const perJob = jobs.map((events) => {
    const [first, ...rest] = events;
    // A declaration goes first on its own, as `POST /v1/jobs` would have created the job.
    const head = first!.type === "job.declared" ? [JSON.stringify(first)] : [];
    const tail = first!.type === "job.declared" ? rest : events;
    const bodies: string[] = [];
    for (let i = 0; i < tail.length; i += EVENTS_PER_MESSAGE) bodies.push(...envelopesOf(tail.slice(i, i + EVENTS_PER_MESSAGE)).map((m) => JSON.stringify(m)));
    return [...head, ...bodies];
  });
  const bodies: string[] = [];
  for (let round = 0; perJob.some((job) => job.length > round); round++) for (const job of perJob) if (round < job.length) bodies.push(job[round]!);
  return bodies;
}

/** The event source's limits on one batch (the sandbox's poller and Lambda's): 500 messages, 6 MB. */
const BATCH_MESSAGES = 500;
const BATCH_BYTES = 6 * 1024 * 1024;
/** As the sandbox's event source counts a message: its body plus about 1 KB of handle and attributes. */
const bytesOf = (body: string) => Buffer.byteLength(body) + 1024;

/** Consecutive batches of the messages, each as full as the event source would make it. */
function fullBatches(bodies: readonly string[]): string[][] {
  const batches: string[][] = [];
  let batch: string[] = [];
  let bytes = 0;
  for (const body of bodies) {
    if (batch.length === BATCH_MESSAGES || (batch.length > 0 && bytes + bytesOf(body) > BATCH_BYTES)) {
      batches.push(batch);
      batch = [];
      bytes = 0;
    }
    batch.push(body);
    bytes += bytesOf(body);
  }
  if (batch.length > 0) batches.push(batch);
  return batches;
}

/** An SQS record as Lambda hands it over, received once, just now. */
function recordOf(body: string, id: number, queueArn: string): SQSRecord {
  const now = String(Date.now());
  return {
    messageId: `bench-${id}`,
    receiptHandle: `bench-${id}`,
    body,
    attributes: { ApproximateReceiveCount: "1", SentTimestamp: now, SenderId: "bench", ApproximateFirstReceiveTimestamp: now },
    messageAttributes: {},
    md5OfBody: createHash("md5").update(body).digest("hex"),
    eventSource: "aws:sqs",
    eventSourceARN: queueArn,
    awsRegion: "us-east-1",
  };
}

const sqsClientFor = (sandbox: Sandbox) =>
  new SQSClient({ region: "us-east-1", endpoint: sandbox.sqsEndpoint, credentials: { accessKeyId: "bench", secretAccessKey: "bench" } });

/** Sends the messages from `SENDERS` producers, 10 to a call; resolves when all are sent. */
async function sendAll(sqs: SQSClient, queueUrl: string, bodies: readonly string[]): Promise<void> {
  let next = 0;
  const sender = async () => {
    while (next < bodies.length) {
      const batch = bodies.slice(next, next + 10);
      next += 10;
      await sqs.send(new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries: batch.map((body, i) => ({ Id: String(i), MessageBody: body })) }));
    }
  };
  await Promise.all(Array.from({ length: SENDERS }, sender));
}

async function untilDrained(sqs: SQSClient, queueUrl: string): Promise<void> {
  for (;;) {
    const { Attributes } = await sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"] }),
    );
    if (Number(Attributes?.ApproximateNumberOfMessages) === 0 && Number(Attributes?.ApproximateNumberOfMessagesNotVisible) === 0) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function checkBigJob(sandbox: Sandbox): Promise<string> {
  const check = await fetch(`${sandbox.http}/v1/jobs/big`, { headers: { authorization: `Bearer ${sandbox.apiKey}` } });
  const big = (await check.json()) as { progress_combined: number | null; progress_per_original_file: unknown[] };
  if (big.progress_per_original_file.length !== BIG_ORIGINALS || big.progress_combined !== 100) throw new Error("the big job was not applied whole");
  return `big job: ${big.progress_per_original_file.length} files at ${big.progress_combined} %`;
}

/** Runs `work` against a fresh sandbox persisting to a temporary directory. */
async function withSandbox<T>(options: { reducerConcurrency?: number; tickMs?: number; visibilityTimeoutSeconds?: number }, work: (sandbox: Sandbox) => Promise<T>): Promise<T> {
  const dataDir = mkdtempSync(join(tmpdir(), "headway-bench-"));
  const sandbox = await startSandbox({ port: 0, memory: false, dataDir, log: createSandboxLog(), ...options });
  try {
    return await work(sandbox);
  } finally {
    await sandbox.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

export async function main(args: string[]): Promise<void> {
  const only = args[0];
  if (only !== undefined && only !== "cost" && only !== "throughput") throw new Error(`unknown phase ${only}: cost or throughput`);
  const { jobs, events } = workload();
  const bodies = messageBodies(jobs);
  process.stderr.write(`workload: ${events} events in ${bodies.length} messages, ${jobs.length} jobs (one of ${BIG_ORIGINALS} originals)\n`);

  // Redelivery after the visibility timeout would make a slow machine lose races and, past the
  // receive count, messages: the cloud's timeout (infra/queues.ts, 6 × the reducer's 30 s).
  const throughput = only === "cost" ? null : await withSandbox({ visibilityTimeoutSeconds: 180 }, async (sandbox) => {
    const sqs = sqsClientFor(sandbox);
    try {
      const started = performance.now();
      await sendAll(sqs, sandbox.queueUrl, bodies);
      const sentSeconds = (performance.now() - started) / 1000;
      await untilDrained(sqs, sandbox.queueUrl);
      const seconds = (performance.now() - started) / 1000;
      process.stderr.write(
        `throughput: sent in ${sentSeconds.toFixed(1)} s, applied in ${seconds.toFixed(1)} s; ${await checkBigJob(sandbox)}; ` +
          `${sandbox.reducerStats.batches} reducer batches, ${sandbox.reducerStats.failed} failed messages; ` +
          `${sandbox.storeMetrics.writes} writes, ${sandbox.storeMetrics.failedWrites} lost races, ${(sandbox.storeMetrics.writeUnits / events).toFixed(4)} WCU/event with these batches\n`,
      );

      // The floor: the same messages through the same emulator and event source, no reducer.
      const queue = await createQueueWithDlq(sqs, "headway-bench-floor", { visibilityTimeoutSeconds: 180, maxReceiveCount: 10 });
      let floorBatches = 0;
      const poller = startSqsPoller({
        sqs,
        queueUrl: queue.url,
        queueArn: queue.arn,
        handler: async () => ({ batchItemFailures: [] }),
        batchSize: BATCH_MESSAGES,
        batchingWindowMs: 250,
        visibilityTimeoutSeconds: 180,
        concurrency: 1,
        onBatch: () => void floorBatches++,
      });
      const floorStarted = performance.now();
      await sendAll(sqs, queue.url, bodies);
      await untilDrained(sqs, queue.url);
      const floorSeconds = (performance.now() - floorStarted) / 1000;
      await poller.stop();
      process.stderr.write(`floor: sent and drained in ${floorSeconds.toFixed(1)} s, ${floorBatches} batches\n`);
      return { eventsPerSecond: events / seconds, floorEventsPerSecond: events / floorSeconds };
    } finally {
      sqs.destroy();
    }
  });

  const cost = only === "throughput" ? null : await withSandbox({ reducerConcurrency: 0, tickMs: 0 }, async (sandbox) => {
    const batches = fullBatches(bodies);
    let id = 0;
    const started = performance.now();
    for (const batch of batches) {
      const event: SQSEvent = { Records: batch.map((body) => recordOf(body, ++id, "arn:aws:sqs:us-east-1:000000000000:headway-events")) };
      const { batchItemFailures } = await sandbox.reduce(event);
      if (batchItemFailures.length > 0) throw new Error(`the reducer gave back ${batchItemFailures.length} messages of a fixed batch`);
    }
    const seconds = (performance.now() - started) / 1000;
    const metrics = sandbox.storeMetrics;
    process.stderr.write(
      `cost: ${batches.length} batches of ${batches.map((batch) => batch.length).join("/")} messages applied in ${seconds.toFixed(1)} s; ${await checkBigJob(sandbox)}; ` +
        `${metrics.writes} writes, ${metrics.failedWrites} lost races, ${Math.round(metrics.writeUnits)} WCU\n`,
    );
    return { wcuPerEvent: metrics.writeUnits / events, rcuPerEvent: metrics.readUnits / events, maxItemBytes: metrics.maxItemBytes, writesPerBatch: metrics.writes / batches.length, reduceMsPerEvent: (seconds * 1000) / events };
  });

  if (throughput !== null) {
    console.log(`sandbox_events_per_s: ${Math.round(throughput.eventsPerSecond)}`);
    console.log(`pipeline_floor_events_per_s: ${Math.round(throughput.floorEventsPerSecond)}`);
    console.log(`pipeline_over_floor: ${(throughput.eventsPerSecond / throughput.floorEventsPerSecond).toFixed(2)}`);
  }
  if (cost !== null) {
    console.log(`wcu_per_event: ${cost.wcuPerEvent.toFixed(4)}`);
    console.log(`rcu_per_event: ${cost.rcuPerEvent.toFixed(4)}`);
    // Wall time of the fixed batches through the real reducer and dynalite (an upper bound of the reducer's own time: it includes the emulator's).
    console.log(`reduce_ms_per_event: ${cost.reduceMsPerEvent.toFixed(4)}`);
    console.log(`max_item_bytes: ${cost.maxItemBytes}`);
    console.log(`reducer_writes_per_batch: ${cost.writesPerBatch.toFixed(2)}`);
  }
}
