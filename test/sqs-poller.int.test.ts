/** The event-source-mapping stand-in against fauxqs, through the real SQS client. */
import {
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SendMessageCommand,
  type SQSClient,
} from "@aws-sdk/client-sqs";
import type { SQSBatchResponse, SQSEvent, SQSRecord } from "aws-lambda";
import { createHash, randomUUID } from "node:crypto";
import { afterAll, afterEach, beforeAll, expect, test } from "vitest";
import { createQueueWithDlq, createSqsClient, startSqsEmulator, type Emulator, type QueueWithDlq } from "../sandbox/emulators.ts";
import { startSqsPoller, type SqsPoller, type SqsPollerOptions } from "../sandbox/sqs-poller.ts";

const VISIBILITY_SECONDS = 1;

let emulator: Emulator;
let sqs: SQSClient;
const pollers: SqsPoller[] = [];

beforeAll(async () => {
  emulator = await startSqsEmulator();
  sqs = createSqsClient(emulator.endpoint);
});
afterEach(async () => {
  await Promise.all(pollers.splice(0).map((poller) => poller.stop()));
});
afterAll(async () => {
  sqs.destroy();
  await emulator.close();
});

async function newQueue(maxReceiveCount = 5): Promise<QueueWithDlq> {
  return createQueueWithDlq(sqs, `q-${randomUUID().slice(0, 8)}`, { visibilityTimeoutSeconds: VISIBILITY_SECONDS, maxReceiveCount });
}

async function send(queue: QueueWithDlq, bodies: string[]): Promise<void> {
  for (let i = 0; i < bodies.length; i += 10) {
    const entries = bodies.slice(i, i + 10).map((body, n) => ({ Id: String(n), MessageBody: body }));
    const { Failed } = await sqs.send(new SendMessageBatchCommand({ QueueUrl: queue.url, Entries: entries }));
    expect(Failed ?? []).toEqual([]);
  }
}

/** Records every delivery; `respond` decides each batch's outcome. */
function poll(
  queue: QueueWithDlq,
  respond: (records: SQSRecord[]) => Promise<SQSBatchResponse | void> | SQSBatchResponse | void = () => {},
  options: Partial<SqsPollerOptions> = {},
) {
  const batches: { at: number; records: SQSRecord[] }[] = [];
  const errors: { stage: string; error: unknown }[] = [];
  pollers.push(
    startSqsPoller({
      sqs,
      queueUrl: queue.url,
      queueArn: queue.arn,
      batchSize: 10,
      batchingWindowMs: 0,
      visibilityTimeoutSeconds: VISIBILITY_SECONDS,
      concurrency: 1,
      handler: async (event: SQSEvent) => {
        batches.push({ at: Date.now(), records: event.Records });
        return respond(event.Records);
      },
      onError: (error, { stage }) => errors.push({ stage, error }),
      ...options,
    }),
  );
  const deliveries = (body: string) => batches.flatMap(({ at, records }) => records.filter((r) => r.body === body).map((record) => ({ at, record })));
  return { batches, errors, deliveries };
}

async function until(condition: () => boolean | Promise<boolean>, timeoutMs = 8000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Visible + in flight + delayed: 0 once everything has been deleted. */
async function remaining(url: string): Promise<number> {
  const { Attributes = {} } = await sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: url,
      AttributeNames: ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible", "ApproximateNumberOfMessagesDelayed"],
    }),
  );
  return Object.values(Attributes).reduce((sum, value) => sum + Number(value), 0);
}

test("delivers Lambda-shaped records in batches of at most batchSize and deletes what succeeded", async () => {
  const queue = await newQueue();
  await sqs.send(
    new SendMessageCommand({
      QueueUrl: queue.url,
      MessageBody: "with-attributes",
      MessageAttributes: { kind: { DataType: "String", StringValue: "progress" }, blob: { DataType: "Binary", BinaryValue: Buffer.from("hi") } },
    }),
  );
  await send(queue, Array.from({ length: 24 }, (_, i) => `m${i}`));
  const { batches, errors } = poll(queue);
  await until(() => batches.flatMap((b) => b.records).length >= 25);
  await until(async () => (await remaining(queue.url)) === 0);

  expect(batches.every((b) => b.records.length >= 1 && b.records.length <= 10)).toBe(true);
  const records = batches.flatMap((b) => b.records);
  expect(new Set(records.map((r) => r.messageId)).size).toBe(25);
  const record = records.find((r) => r.body === "with-attributes")!;
  expect(record).toMatchObject({
    eventSource: "aws:sqs",
    eventSourceARN: queue.arn,
    awsRegion: "us-east-1",
    md5OfBody: createHash("md5").update("with-attributes").digest("hex"),
    attributes: { ApproximateReceiveCount: "1", SenderId: expect.any(String) },
    messageAttributes: {
      kind: { stringValue: "progress", stringListValues: [], binaryListValues: [], dataType: "String" },
      blob: { binaryValue: Buffer.from("hi").toString("base64"), dataType: "Binary" },
    },
  });
  expect(record.receiptHandle).toEqual(expect.any(String));
  expect(record.md5OfMessageAttributes).toMatch(/^[0-9a-f]{32}$/);
  expect(Number(record.attributes.SentTimestamp)).toBeLessThanOrEqual(Number(record.attributes.ApproximateFirstReceiveTimestamp));
  expect(errors).toEqual([]);
});

test("gathers across receives, up to batchSize, within the batching window", async () => {
  const queue = await newQueue();
  await send(queue, Array.from({ length: 25 }, (_, i) => `m${i}`));
  const { batches } = poll(queue, () => {}, { batchSize: 20, batchingWindowMs: 500 });
  await until(() => batches.flatMap((b) => b.records).length >= 25);
  expect(batches.map((b) => b.records.length)).toEqual([20, 5]);
});

test("runs up to `concurrency` batches at once", async () => {
  const queue = await newQueue();
  await send(queue, Array.from({ length: 30 }, (_, i) => `m${i}`));
  let active = 0;
  let peak = 0;
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  const { batches } = poll(
    queue,
    async () => {
      peak = Math.max(peak, ++active);
      await gate;
      active--;
    },
    { concurrency: 3 },
  );
  await until(() => active === 3);
  release();
  await until(async () => batches.flatMap((b) => b.records).length === 30 && (await remaining(queue.url)) === 0);
  expect(peak).toBe(3);
});

test("partial batch failure: only the failed message comes back, after the visibility timeout", async () => {
  const queue = await newQueue();
  await send(queue, ["a", "b", "c"]);
  let firstTry = true;
  const { deliveries, errors } = poll(queue, (records) => {
    const b = records.find((r) => r.body === "b");
    if (b === undefined || !firstTry) return;
    firstTry = false;
    return { batchItemFailures: [{ itemIdentifier: b.messageId }] };
  });
  await until(() => deliveries("b").length === 2);
  await until(async () => (await remaining(queue.url)) === 0);
  expect(deliveries("a")).toHaveLength(1);
  expect(deliveries("c")).toHaveLength(1);
  const [first, second] = deliveries("b");
  expect(second!.record.attributes.ApproximateReceiveCount).toBe("2");
  expect(second!.at - first!.at).toBeGreaterThanOrEqual(VISIBILITY_SECONDS * 1000 - 50);
  expect(errors).toEqual([]);
});

test("a thrown handler, or a batchItemFailures naming no message of the batch, fails the whole batch", async () => {
  const outcomes = ["throw", "unknown id", "empty id", "not an array"] as const;
  await Promise.all(
    outcomes.map(async (outcome) => {
      const queue = await newQueue();
      await send(queue, ["x", "y"]);
      let calls = 0;
      const { deliveries, errors } = poll(queue, () => {
        if (calls++ > 0) return;
        if (outcome === "throw") throw new Error("boom");
        if (outcome === "not an array") return { batchItemFailures: "x" } as never;
        return { batchItemFailures: [{ itemIdentifier: outcome === "empty id" ? "" : "not-a-message-id" }] };
      });
      await until(() => deliveries("x").length === 2 && deliveries("y").length === 2);
      await until(async () => (await remaining(queue.url)) === 0);
      expect([deliveries("x")[1]!.record.attributes.ApproximateReceiveCount, deliveries("y")[1]!.record.attributes.ApproximateReceiveCount]).toEqual(["2", "2"]);
      expect(errors.map((e) => e.stage)).toEqual(["handler"]);
    }),
  );
});

test("an empty or absent response counts as success", async () => {
  const queue = await newQueue();
  await send(queue, ["p", "q", "r"]);
  const responses = [{ batchItemFailures: [] }, {}, undefined];
  const { batches } = poll(queue, () => responses.shift() as SQSBatchResponse | undefined, { batchSize: 1 });
  await until(async () => batches.length === 3 && (await remaining(queue.url)) === 0);
});

test("a message that fails maxReceiveCount times is moved to the DLQ by the queue's redrive policy", async () => {
  const queue = await newQueue(2);
  await send(queue, ["poison", "fine"]);
  const { deliveries } = poll(queue, (records) => ({
    batchItemFailures: records.filter((r) => r.body === "poison").map((r) => ({ itemIdentifier: r.messageId })),
  }));
  const inDlq = async () => {
    const { Messages = [] } = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queue.dlqUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }));
    return Messages;
  };
  let dead: Awaited<ReturnType<typeof inDlq>> = [];
  await until(async () => (dead = await inDlq()).length > 0);
  expect(dead.map((m) => m.Body)).toEqual(["poison"]);
  expect(dead[0]!.MessageId).toBe(deliveries("poison")[0]!.record.messageId);
  expect(deliveries("poison").map((d) => d.record.attributes.ApproximateReceiveCount)).toEqual(["1", "2"]);
  expect(deliveries("fine")).toHaveLength(1);
  expect(await remaining(queue.url)).toBe(0);
});

test("stop() finishes the batch in flight (handler and deletes), then polls no more", async () => {
  const queue = await newQueue();
  await send(queue, ["1", "2", "3"]);
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  const { batches } = poll(queue, () => gate);
  await until(() => batches.length === 1);
  let stopped = false;
  const stopping = pollers.pop()!.stop().then(() => (stopped = true));
  await new Promise((resolve) => setTimeout(resolve, 100));
  expect(stopped).toBe(false);
  release();
  await stopping;
  expect(await remaining(queue.url)).toBe(0); // deleted, not left to time out
  await send(queue, ["after stop"]);
  await new Promise((resolve) => setTimeout(resolve, 300));
  expect(batches).toHaveLength(1);
  expect(await remaining(queue.url)).toBe(1);
});
