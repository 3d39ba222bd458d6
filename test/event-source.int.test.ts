import { afterEach, describe, expect, it } from "vitest";
import { ReceiveMessageCommand, SendMessageBatchCommand, SQSClient } from "@aws-sdk/client-sqs";
import type { SQSEvent } from "aws-lambda";
import { silentLog } from "../functions/config.ts";
import { startEventSource, type EventSource } from "../sandbox/event-source.ts";
import { ensureQueueWithDlq, startSqsEmulator, type Emulator } from "../sandbox/local-aws.ts";

let emulator: Emulator | undefined;
let source: EventSource | undefined;
let sqs: SQSClient | undefined;
afterEach(async () => {
  await source?.stop();
  sqs?.destroy();
  await emulator?.close();
  source = sqs = emulator = undefined;
});

async function setUp(maxReceiveCount = 3) {
  emulator = await startSqsEmulator({ port: 0 });
  sqs = new SQSClient({ region: "us-east-1", endpoint: emulator.endpoint, credentials: { accessKeyId: "x", secretAccessKey: "x" } });
  const queue = await ensureQueueWithDlq(sqs, "events", { visibilityTimeoutSeconds: 1, maxReceiveCount });
  const send = async (bodies: string[]) => {
    for (let i = 0; i < bodies.length; i += 10) {
      await sqs!.send(new SendMessageBatchCommand({ QueueUrl: queue.url, Entries: bodies.slice(i, i + 10).map((body, index) => ({ Id: String(index), MessageBody: body })) }));
    }
  };
  return { queue, send, sqs };
}

const until = async (condition: () => boolean, timeoutMs = 15_000) => {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error("timed out");
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
};

describe("SQS event source (the sandbox's stand-in for Lambda's mapping)", () => {
  it("delivers real SQS events in batches of at most batchSize and deletes what succeeded", async () => {
    const { queue, send } = await setUp();
    const seen: string[] = [];
    const sizes: number[] = [];
    await send(Array.from({ length: 45 }, (_, i) => `m${i}`));
    source = startEventSource({
      sqs: sqs!, queueUrl: queue.url, queueArn: queue.arn, batchSize: 20, batchingWindowMs: 100, concurrency: 1, log: silentLog,
      handler: async (event: SQSEvent) => {
        sizes.push(event.Records.length);
        for (const record of event.Records) {
          expect(record).toMatchObject({ eventSource: "aws:sqs", eventSourceARN: queue.arn });
          expect(Number(record.attributes.ApproximateReceiveCount)).toBeGreaterThanOrEqual(1);
          seen.push(record.body);
        }
        return { batchItemFailures: [] };
      },
    });
    await until(() => seen.length >= 45);
    expect(new Set(seen).size).toBe(45);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(20);
    expect(sizes.length).toBeLessThan(45);
  });

  it("redelivers the messages a batch reports as failed, after the visibility timeout", async () => {
    const { queue, send } = await setUp();
    const deliveries = new Map<string, number>();
    await send(["ok-1", "fail-once", "ok-2"]);
    source = startEventSource({
      sqs: sqs!, queueUrl: queue.url, queueArn: queue.arn, batchSize: 10, batchingWindowMs: 50, concurrency: 1, log: silentLog,
      handler: async (event) => {
        const failures = [];
        for (const record of event.Records) {
          const count = (deliveries.get(record.body) ?? 0) + 1;
          deliveries.set(record.body, count);
          if (record.body === "fail-once" && count === 1) failures.push({ itemIdentifier: record.messageId });
        }
        return { batchItemFailures: failures };
      },
    });
    await until(() => deliveries.get("fail-once") === 2);
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(Object.fromEntries(deliveries)).toEqual({ "ok-1": 1, "fail-once": 2, "ok-2": 1 });
  });

  it("redelivers the whole batch when the handler throws", async () => {
    const { queue, send } = await setUp();
    const deliveries: string[] = [];
    await send(["a", "b"]);
    let calls = 0;
    source = startEventSource({
      sqs: sqs!, queueUrl: queue.url, queueArn: queue.arn, batchSize: 10, batchingWindowMs: 100, concurrency: 1, log: silentLog,
      handler: async (event) => {
        deliveries.push(...event.Records.map((record) => record.body));
        if (++calls === 1) throw new Error("crash");
        return { batchItemFailures: [] };
      },
    });
    await until(() => deliveries.filter((body) => body === "a").length === 2 && deliveries.filter((body) => body === "b").length === 2);
  });

  it("lets the queue move a message that keeps failing to the DLQ after maxReceiveCount receives", async () => {
    const { queue, send } = await setUp(2);
    let receives = 0;
    await send(["poison"]);
    source = startEventSource({
      sqs: sqs!, queueUrl: queue.url, queueArn: queue.arn, batchSize: 10, batchingWindowMs: 0, concurrency: 1, log: silentLog,
      handler: async (event) => {
        receives += event.Records.length;
        return { batchItemFailures: event.Records.map((record) => ({ itemIdentifier: record.messageId })) };
      },
    });
    let dead: string[] = [];
    await until(() => receives >= 2);
    const deadline = Date.now() + 10_000;
    while (dead.length === 0 && Date.now() < deadline) {
      const result = await sqs!.send(new ReceiveMessageCommand({ QueueUrl: queue.dlqUrl, WaitTimeSeconds: 1 }));
      dead = (result.Messages ?? []).map((message) => message.Body!);
    }
    expect(dead).toEqual(["poison"]);
    expect(receives).toBe(2);
  });

  it("finishes the batch in flight when stopped", async () => {
    const { queue, send } = await setUp();
    await send(["slow"]);
    let finished = false;
    let started = false;
    source = startEventSource({
      sqs: sqs!, queueUrl: queue.url, queueArn: queue.arn, batchSize: 10, batchingWindowMs: 0, concurrency: 1, log: silentLog,
      handler: async () => {
        started = true;
        await new Promise((resolve) => setTimeout(resolve, 500));
        finished = true;
        return { batchItemFailures: [] };
      },
    });
    await until(() => started);
    await source.stop();
    source = undefined;
    expect(finished).toBe(true);
    const left = await sqs!.send(new ReceiveMessageCommand({ QueueUrl: queue.url, WaitTimeSeconds: 0, VisibilityTimeout: 0 }));
    expect(left.Messages ?? []).toEqual([]);
  });
});
