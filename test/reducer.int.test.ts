import { afterAll, beforeAll, describe, expect, it } from "vitest";
import fc from "fast-check";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import type { Event } from "../core/contract/events.ts";
import type { Snapshot } from "../core/contract/snapshot.ts";
import { StoreConflict } from "../core/errors.ts";
import type { JobStore } from "../core/ports.ts";
import { renderSnapshot } from "../core/estimator/snapshot.ts";
import { createDynamoStore } from "../functions/adapters/dynamo/store.ts";
import { envelopesOf } from "../core/contract/envelopes.ts";
import type { Log } from "../functions/config.ts";
import { createReducerHandler, type ReducerDeps } from "../functions/reducer/index.ts";
import { readJob, rejectionsOf } from "./support/store.ts";
import { clientFor, newTable, startDynalite, type TestTable } from "./support/dynamo.ts";
import { eventFactory, VIDEO_PLAN } from "./support/events.ts";
import { fold } from "./support/fold.ts";
import { worldArbitrary } from "./support/worlds.ts";
import { drain, seededRandom } from "./support/sqs-harness.ts";

let emulator: { endpoint: string; close(): Promise<void> };
beforeAll(async () => {
  emulator = await startDynalite({ port: 0 });
});
afterAll(async () => emulator?.close());

/** A realistic job: declaration, originals, step reports with retries, indicators, sealing. */
function jobEvents(jobId: string, originals: number, seed: number): Event[] {
  const random = seededRandom(seed);
  const e = eventFactory(jobId);
  // Odd seeds announce the upload's size instead of sealing it: completeness then rests on counts.
  const isCounted = seed % 2 === 1;
  const events: Event[] = [e.plan(VIDEO_PLAN, { emit_execution_progress: true, ...(isCounted ? { expect_originals: originals } : {}) })];
  const mimes = ["video/mp4", "image/png", "application/zip"];
  for (let i = 0; i < originals; i++) {
    const id = `f${i}`;
    const mime = mimes[i % 3]!;
    events.push(e.original(id, mime));
    const steps = mime === "video/mp4" ? ["thumbs", "encoded"] : mime === "image/png" ? ["resized", "stored"] : ["unzipped"];
    for (const step of steps) {
      events.push(e.started(step, id));
      events.push(e.progress(step, id, [Math.floor(random() * 100), 100], { unit: "Bytes" }));
      if (random() < 0.2) {
        events.push(e.failed(step, id, true));
        events.push(e.progress(step, id, [10, 100], { attempt: 2 }));
        events.push(e.completed(step, id, { attempt: 2, result_count: step === "thumbs" ? 8 : 1 }));
      } else {
        events.push(e.completed(step, id, { result_count: step === "thumbs" ? 8 : 1 }));
      }
    }
    events.push(e.added(3, `task-${i}`, { label: i % 2 === 0 ? "tiles" : null }));
    events.push(e.done(random() < 0.5 ? 3 : 1, `task-${i}`, { label: i % 2 === 0 ? "tiles" : null }));
  }
  if (!isCounted) events.push(e.sealed());
  return events;
}

/** Messages as producers would send them: the declaration alone, the rest in small envelopes. */
function messagesOf(events: Event[], perMessage: number): string[] {
  const [declared, ...rest] = events;
  const bodies = [JSON.stringify(declared)];
  for (let i = 0; i < rest.length; i += perMessage) bodies.push(...envelopesOf(rest.slice(i, i + perMessage)).map((m) => JSON.stringify(m)));
  return bodies;
}

function truth(snapshot: Snapshot) {
  const detail = snapshot.detail!;
  return { status: snapshot.status, combined: detail.true_progress_combined, files: detail.true_progress_per_original_file, indicators: snapshot.indicators, steps: detail.steps, inFlight: detail.in_flight };
}

interface Harness {
  table: TestTable;
  store: ReturnType<typeof createDynamoStore>;
  logs: { level: string; message: string; fields: Record<string, unknown> }[];
  handler: ReturnType<typeof createReducerHandler>;
}

async function harness(
  options: { store?: (store: JobStore) => JobStore; client?: DynamoDBClient; deps?: Partial<ReducerDeps>; splitItemBytes?: number } = {},
): Promise<Harness> {
  const table = await newTable(emulator.endpoint);
  const client = options.client ?? table.client;
  const store = createDynamoStore({ client, tableName: table.name, now: Date.now, ...(options.splitItemBytes === undefined ? {} : { splitItemBytes: options.splitItemBytes }) });
  const logs: Harness["logs"] = [];
  const log: Log = (level, message, fields = {}) => logs.push({ level, message, fields });
  const handler = createReducerHandler({
    store: options.store?.(store) ?? store,
    changeFeed: store.changeFeed,
    rejections: store.rejections,
    delayMessage: async () => {},
    log,
    now: Date.now,
    defaultTenant: "default",
    maxReceiveCount: 1000,
    pendingUnknownJobSeconds: 3600,
    ...options.deps,
  });
  return { table, store, logs, handler };
}

async function snapshotIn(store: JobStore, jobId: string): Promise<Snapshot> {
  return renderSnapshot((await readJob(store, jobId)).state, { detail: true });
}

/** The real client, but the process "crashes" before some writes and DynamoDB throttles some requests. */
function faultyClient(real: DynamoDBClient, random: () => number, rates: { crashRate: number; throttleRate: number }): DynamoDBClient {
  return new Proxy(real, {
    get(target, property, receiver) {
      if (property !== "send") return Reflect.get(target, property, receiver);
      return async (command: { constructor: { name: string } }) => {
        const name = command.constructor.name;
        if ((name === "PutItemCommand" || name === "UpdateItemCommand" || name === "BatchWriteItemCommand") && random() < rates.crashRate) {
          throw Object.assign(new Error("crashed before this write"), { name: "ProcessCrash" });
        }
        if (rates.throttleRate > 0 && random() < rates.throttleRate) {
          throw Object.assign(new Error("Rate of requests exceeds the allowed throughput."), { name: "ThrottlingException" });
        }
        return target.send(command as never);
      };
    },
  });
}

const expected = (events: Event[]) => truth(renderSnapshot(fold([events], events[0]!.job_id), { detail: true }));

describe("reducer", () => {
  it("applies a job's events to the same state as the fault-free fold", async () => {
    const h = await harness();
    const events = jobEvents("job-r1", 12, 1);
    await drain(h.handler, messagesOf(events, 7), { seed: 1, batchSize: 10, concurrency: 1, duplicateRate: 0 });
    expect(truth(await snapshotIn(h.store, "job-r1"))).toEqual(expected(events));
  });

  it("reaches the same state under duplicates, reordering and concurrent batches of the same job", async () => {
    const h = await harness();
    const a = jobEvents("job-r2a", 15, 2);
    const b = jobEvents("job-r2b", 9, 3);
    const result = await drain(h.handler, [...messagesOf(a, 5), ...messagesOf(b, 3)], { seed: 2, batchSize: 8, concurrency: 4, duplicateRate: 0.3 });
    expect(truth(await snapshotIn(h.store, "job-r2a"))).toEqual(expected(a));
    expect(truth(await snapshotIn(h.store, "job-r2b"))).toEqual(expected(b));
    expect(result.rounds).toBeGreaterThan(1);
  });

  it("stores generated runs delivered in any order as the in-order fold does, reports naming only their input included", async () => {
    const h = await harness();
    const worlds = fc.sample(worldArbitrary.filter((world) => world.log.length > 5), { seed: 30, numRuns: 12 });
    const messages: string[] = [];
    worlds.forEach((world, index) => {
      const jobId = `job-world-${index}`;
      const events = [world.declared, ...world.log].map((event) => ({ ...event, job_id: jobId }));
      messages.push(...messagesOf(events, 4));
    });
    await drain(h.handler, messages, { seed: 30, batchSize: 10, concurrency: 3, duplicateRate: 0.2 });
    for (const [index, world] of worlds.entries()) {
      const jobId = `job-world-${index}`;
      const events = [world.declared, ...world.log].map((event) => ({ ...event, job_id: jobId }));
      expect(truth(await snapshotIn(h.store, jobId))).toEqual(expected(events));
    }
  });

  it("lists a report of a step the plan lacks under the job's rejections, and keeps it", async () => {
    const h = await harness();
    const e = eventFactory("job-unknown-step");
    const events = [e.plan({ encoded: { robot: "/video/encode", use: ":original" } }), e.original("f1", "video/mp4"), e.progress("encode", "f1", [1, 2])];
    await drain(h.handler, messagesOf(events, 5), { seed: 3, batchSize: 10, concurrency: 1, duplicateRate: 0 });
    const rejections = await rejectionsOf(h.store, "job-unknown-step", 10);
    expect(rejections.map((rejection) => rejection.code)).toEqual(["unknown_step"]);
    expect(rejections[0]!.reason).toContain("step encode is not in the job's plan (did you mean encoded?)");
    expect((await snapshotIn(h.store, "job-unknown-step")).detail!.in_flight).toEqual([expect.objectContaining({ step: "encode", progress: [1, 2] })]);
  });

  it.each([4, 9, 14])("reaches the same state when conditional writes keep losing races (seed %i)", async (seed) => {
    const random = seededRandom(seed);
    const h = await harness({
      store: (store) => ({
        ...store,
        async save(job, nowMs) {
          if (random() < 0.4) throw new StoreConflict("injected");
          return store.save(job, nowMs);
        },
      }),
      deps: { maxConflictRetries: 2 },
    });
    const events = jobEvents("job-r3", 10, seed);
    const result = await drain(h.handler, messagesOf(events, 6), { seed, batchSize: 6, concurrency: 2, duplicateRate: 0.1 });
    expect(result.failures).toBeGreaterThan(0);
    expect(truth(await snapshotIn(h.store, "job-r3"))).toEqual(expected(events));
  });

  it.each([5, 12, 17])("reaches the same state when DynamoDB throttles and the process crashes between any two writes (seed %i)", async (seed) => {
    const real = clientFor(emulator.endpoint);
    const faulty = faultyClient(real, seededRandom(seed), { crashRate: 0.15, throttleRate: 0.05 });
    const h = await harness({ client: faulty });
    const events = jobEvents("job-r4", 10, seed);
    const result = await drain(h.handler, messagesOf(events, 4), { seed, batchSize: 6, concurrency: 2, duplicateRate: 0.1 });
    expect(result.failures).toBeGreaterThan(0);
    const healthy = createDynamoStore({ client: real, tableName: h.table.name, now: Date.now });
    expect(truth(await snapshotIn(healthy, "job-r4"))).toEqual(expected(events));
  });

  it.each([32, 38, 53, 60])("reaches the same state when parts keep splitting and the process crashes between any two writes (seed %i)", async (seed) => {
    const real = clientFor(emulator.endpoint);
    const faulty = faultyClient(real, seededRandom(seed), { crashRate: 0.05, throttleRate: 0 });
    // Parts over 600 bytes split: most parts of more than two originals or tasks do. An announced
    // size of 40,000 starts the job with 313 parts, so splits put new parts in group 1 (parts 256+).
    const h = await harness({ client: faulty, splitItemBytes: 600 });
    const events = jobEvents("job-r7", 24, seed);
    if (seed % 2 === 0) events[0] = { ...events[0]!, expect_originals: 40_000 } as Event;
    const result = await drain(h.handler, messagesOf(events, 5), { seed, batchSize: 6, concurrency: 2, duplicateRate: 0.1 });
    expect(result.failures).toBeGreaterThan(0);
    expect(h.store.metrics.splits).toBeGreaterThan(seed % 2 === 0 ? 0 : 10);
    const healthy = createDynamoStore({ client: real, tableName: h.table.name, now: Date.now });
    expect(truth(await snapshotIn(healthy, "job-r7"))).toEqual(expected(events));
  });

  it("holds events that overtook their job.declared, and applies them once the job appears", async () => {
    const h = await harness();
    const events = jobEvents("job-r5", 4, 6);
    const bodies = messagesOf(events, 5);
    const early = bodies.slice(1);
    const first = await h.handler({ Records: early.map((body, i) => recordOf(body, `early-${i}`)) });
    expect(first.batchItemFailures).toHaveLength(early.length);
    await drain(h.handler, [bodies[0]!, ...early], { seed: 6, batchSize: 5, concurrency: 1, duplicateRate: 0 });
    expect(truth(await snapshotIn(h.store, "job-r5"))).toEqual(expected(events));
  });

  it("rejects held events as unknown_job once the bound has passed", async () => {
    const h = await harness({ deps: { pendingUnknownJobSeconds: 60 } });
    const e = eventFactory("job-never");
    const record = recordOf(JSON.stringify(e.progress("encoded", "f1", [1, 2])), "late-1");
    record.attributes.SentTimestamp = String(Date.now() - 61_000);
    const response = await h.handler({ Records: [record] });
    expect(response.batchItemFailures).toEqual([]);
    expect(h.logs.find((line) => line.message === "event rejected")?.fields).toMatchObject({ code: "unknown_job", job_id: "job-never" });
    // The job never appeared: the rejection is kept in the tenant's log.
    expect((await h.store.rejections.list("default", null, 10))[0]).toMatchObject({ jobId: "job-never", code: "unknown_job" });
  });

  it("applies the job.declared at the head of an envelope before the events after it", async () => {
    const h = await harness();
    const events = jobEvents("job-r6", 3, 7);
    const response = await h.handler({ Records: envelopesOf(events).map((message, i) => recordOf(JSON.stringify(message), `env-${i}`)) });
    expect(response.batchItemFailures).toEqual([]);
    expect(truth(await snapshotIn(h.store, "job-r6"))).toEqual(expected(events));
  });

  it("reads a batch's jobs together and announces them together: 100 one-event jobs in a few reads and 4 marker writes", async () => {
    const sent: string[] = [];
    const real = clientFor(emulator.endpoint);
    const counting = new Proxy(real, {
      get(target, property, receiver) {
        if (property !== "send") return Reflect.get(target, property, receiver);
        return (command: { constructor: { name: string } }) => {
          sent.push(command.constructor.name);
          return target.send(command as never);
        };
      },
    });
    const h = await harness({ client: counting });
    const jobIds = Array.from({ length: 100 }, (_, n) => `job-many-${n}`);
    const declared = jobIds.map((jobId) => eventFactory(jobId)).map((e) => [e.plan(VIDEO_PLAN, { expect_originals: 1 }), e.original("f1", "video/mp4")]);
    await h.handler({ Records: declared.map((events, n) => recordOf(JSON.stringify({ v: 1, events }), `declare-${n}`)) });
    sent.length = 0;
    const progress = jobIds.map((jobId, n) => eventFactory(jobId).progress("encoded", "f1", [n, 100]));
    const response = await h.handler({ Records: progress.map((event, n) => recordOf(JSON.stringify(event), `progress-${n}`)) });
    expect(response.batchItemFailures).toEqual([]);
    const count = (name: string) => sent.filter((sentName) => sentName === name).length;
    // Heads, then the parts the events touch, each gathered over the jobs loaded at once (100): not
    // 200 reads. How many requests exactly depends on when answers come back (2 here).
    expect(count("BatchGetItemCommand")).toBeLessThanOrEqual(20);
    expect(count("GetItemCommand")).toBe(0);
    // Two conditional writes per job (its part, then its head), and the 100 markers in writes of 25.
    expect(count("PutItemCommand")).toBe(200);
    expect(count("BatchWriteItemCommand")).toBe(4);
    const announced = await h.store.changeFeed.changedJobs();
    for (const [n, jobId] of jobIds.entries()) {
      expect(announced.find((job) => job.jobId === jobId)?.version, jobId).toBe((await readJob(h.store, jobId)).state.version);
      expect(truth(await snapshotIn(h.store, jobId))).toEqual(expected([...declared[n]!, progress[n]!]));
    }
    real.destroy();
  });

  it("hands back the messages of jobs it stored but could not announce, and announces them when they come back", async () => {
    let failMarkers = true;
    const real = clientFor(emulator.endpoint);
    const h = await harness({
      client: new Proxy(real, {
        get(target, property, receiver) {
          if (property !== "send") return Reflect.get(target, property, receiver);
          return (command: { constructor: { name: string } }) => {
            if (failMarkers && command.constructor.name === "BatchWriteItemCommand") return Promise.reject(Object.assign(new Error("Throughput exceeds the current capacity"), { name: "ThrottlingException" }));
            return target.send(command as never);
          };
        },
      }),
    });
    const e = eventFactory("job-unannounced");
    const [plan, original, progress] = [e.plan(VIDEO_PLAN, { expect_originals: 1 }), e.original("f1", "video/mp4"), e.progress("encoded", "f1", [5, 10])];
    const records = [recordOf(JSON.stringify({ v: 1, events: [plan, original] }), "declare"), recordOf(JSON.stringify(progress), "progress")];
    const first = await h.handler({ Records: records });
    expect(first.batchItemFailures.map(({ itemIdentifier }) => itemIdentifier).sort()).toEqual(["declare", "progress"]);
    expect(h.logs.some((line) => line.message.startsWith("job stored but not announced") && String(line.fields.error).includes("Throughput exceeds"))).toBe(true);
    expect(await h.store.changeFeed.changedJobs()).toEqual([]);
    const stored = (await readJob(h.store, "job-unannounced")).state.version;
    failMarkers = false;
    const again = await h.handler({ Records: records });
    expect(again.batchItemFailures).toEqual([]);
    expect((await h.store.changeFeed.changedJobs()).map(({ jobId, version }) => ({ jobId, version }))).toEqual([{ jobId: "job-unannounced", version: stored }]);
    // The same events (in-flight entries carry their report's time).
    expect(truth(await snapshotIn(h.store, "job-unannounced"))).toEqual(expected([plan, original, progress]));
    real.destroy();
  });

  it("survives a fuzz of 1,000 malformed messages mixed with valid ones", async () => {
    const h = await harness();
    const random = seededRandom(8);
    const events = jobEvents("job-fuzz", 20, 8);
    const valid = messagesOf(events, 3);
    const malformed = Array.from({ length: 1000 }, (_, i) => malformedMessage(random, i));
    const mixed = [valid[0]!, ...[...valid.slice(1), ...malformed].sort(() => random() - 0.5)];
    const result = await drain(h.handler, mixed, { seed: 8, batchSize: 10, concurrency: 2, duplicateRate: 0 });
    // Nothing failed to store; the only redeliveries are events held until their job.declared arrived.
    expect(h.logs.filter((line) => line.level === "error")).toEqual([]);
    expect(result.failures).toBe(h.logs.filter((line) => line.message === "events held for a job not yet declared").reduce((sum, line) => sum + Number(line.fields.messages), 0));
    expect(truth(await snapshotIn(h.store, "job-fuzz"))).toEqual(expected(events));
    const rejected = h.logs.filter((line) => line.message === "event rejected");
    expect(rejected.length).toBeGreaterThanOrEqual(1000);
    for (const line of rejected) expect(String(line.fields.reason).length).toBeGreaterThan(0);
    const listed = await rejectionsOf(h.store, "job-fuzz", 100);
    expect(listed.length).toBeGreaterThan(0);
  }, 120_000);
});

function recordOf(body: string, messageId: string) {
  return {
    messageId,
    receiptHandle: `rh-${messageId}`,
    body,
    attributes: { ApproximateReceiveCount: "1", SentTimestamp: String(Date.now()), SenderId: "test", ApproximateFirstReceiveTimestamp: String(Date.now()) },
    messageAttributes: {},
    md5OfBody: "",
    eventSource: "aws:sqs",
    eventSourceARN: "arn:aws:sqs:us-east-1:000000000000:events",
    awsRegion: "us-east-1",
  };
}

/** One of many kinds of bad input: broken JSON, wrong types, out-of-range values, oversized, foreign fields. */
function malformedMessage(random: () => number, index: number): string {
  const base = { v: 1, type: "step.progress", job_id: "job-fuzz", event_id: `bad-${index}`, at: "2026-11-22T10:00:00.000Z", step: "encoded", original_id: "f1", attempt: 1, progress: [1, 2] };
  const kinds: (() => unknown)[] = [
    () => "{not json",
    () => "",
    () => "null",
    () => "[]",
    () => ({ ...base, v: 2 }),
    () => ({ ...base, type: "step.teleported" }),
    () => ({ ...base, progress: [1, -1] }),
    () => ({ ...base, progress: "50%" }),
    () => ({ ...base, attempt: -1 }),
    () => ({ ...base, at: "yesterday" }),
    () => ({ ...base, job_id: "spaces are not ids" }),
    () => ({ ...base, job_id: "x".repeat(200) }),
    () => ({ ...base, event_id: undefined }),
    () => ({ ...base, step_index: [3, 1] }),
    () => ({ v: 1, events: [] }),
    () => ({ v: 1, events: [{ ...base, progress: [1, -2] }] }),
    () => ({ v: 1, events: Array.from({ length: 501 }, () => base) }),
    () => ({ ...base, type: "indicator.added", amount: -3, task_id: "t" }),
    () => ({ ...base, type: "step.completed" }),
    () => "x".repeat(1024 * 1024 + 1),
  ];
  const made = kinds[Math.floor(random() * kinds.length)]!();
  return typeof made === "string" ? made : JSON.stringify(made);
}
