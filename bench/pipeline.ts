/**
 * The sandbox end to end: producers send a standard workload to SQS (many small pipeline jobs,
 * counted-work jobs, and one job of 100,000 originals), the event source feeds the reducer,
 * the reducer writes DynamoDB (dynalite, with fauxqs and dynalite persisting to disk as
 * `npm start` does). Measured from the first send until the queue is empty and idle.
 *
 * Prints:
 *   sandbox_events_per_s       events sent ÷ seconds until all were applied
 *   wcu_per_event              write capacity units (DynamoDB's ReturnConsumedCapacity) ÷ events
 *   max_item_bytes             the largest item written
 *   reducer_writes_per_batch   DynamoDB writes ÷ reducer invocations
 */
import { GetQueueAttributesCommand, SendMessageBatchCommand, SQSClient } from "@aws-sdk/client-sqs";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Event, Plan } from "../core/contract.ts";
import { envelopesOf } from "../core/envelopes.ts";
import { createSandboxLog } from "./support.ts";
import { startSandbox } from "../sandbox/sandbox.ts";

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

export async function main(): Promise<void> {
  const { jobs, events } = workload();
  const bodies = messageBodies(jobs);
  process.stderr.write(`workload: ${events} events in ${bodies.length} messages, ${jobs.length} jobs (one of ${BIG_ORIGINALS} originals)\n`);
  const dataDir = mkdtempSync(join(tmpdir(), "headway-bench-"));
  const sandbox = await startSandbox({ port: 0, memory: false, dataDir, log: createSandboxLog() });
  const sqs = new SQSClient({ region: "us-east-1", endpoint: sandbox.sqsEndpoint, credentials: { accessKeyId: "bench", secretAccessKey: "bench" } });
  try {
    const started = performance.now();
    let next = 0;
    const sender = async () => {
      while (next < bodies.length) {
        const batch = bodies.slice(next, next + 10);
        next += 10;
        await sqs.send(new SendMessageBatchCommand({ QueueUrl: sandbox.queueUrl, Entries: batch.map((body, i) => ({ Id: String(i), MessageBody: body })) }));
      }
    };
    await Promise.all(Array.from({ length: SENDERS }, sender));
    const sentSeconds = (performance.now() - started) / 1000;
    for (;;) {
      const { Attributes } = await sqs.send(
        new GetQueueAttributesCommand({ QueueUrl: sandbox.queueUrl, AttributeNames: ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"] }),
      );
      if (Number(Attributes?.ApproximateNumberOfMessages) === 0 && Number(Attributes?.ApproximateNumberOfMessagesNotVisible) === 0) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const seconds = (performance.now() - started) / 1000;
    const check = await fetch(`${sandbox.http}/v1/jobs/big`, { headers: { authorization: `Bearer ${sandbox.apiKey}` } });
    const big = (await check.json()) as { progress_combined: number | null; progress_per_original_file: unknown[] };
    process.stderr.write(
      `sent in ${sentSeconds.toFixed(1)} s, applied in ${seconds.toFixed(1)} s; big job: ${big.progress_per_original_file.length} files at ${big.progress_combined} %; ` +
        `${sandbox.reducerStats.batches} reducer batches, ${sandbox.reducerStats.failed} failed messages; ` +
        `${sandbox.storeMetrics.writes} writes, ${sandbox.storeMetrics.failedWrites} lost races, ${Math.round(sandbox.storeMetrics.writeUnits)} WCU\n`,
    );
    if (big.progress_per_original_file.length !== BIG_ORIGINALS || big.progress_combined !== 100) throw new Error("the big job was not applied whole");
    const metrics = sandbox.storeMetrics;
    console.log(`sandbox_events_per_s: ${Math.round(events / seconds)}`);
    console.log(`wcu_per_event: ${(metrics.writeUnits / events).toFixed(4)}`);
    console.log(`max_item_bytes: ${metrics.maxItemBytes}`);
    console.log(`reducer_writes_per_batch: ${(metrics.writes / Math.max(1, sandbox.reducerStats.batches)).toFixed(2)}`);
  } finally {
    sqs.destroy();
    await sandbox.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}
