/** The sandbox's emulators: loopback only, and what they persist across a restart (and what not). */
import { CreateTableCommand, GetItemCommand, ListTablesCommand, PutItemCommand, waitUntilTableExists } from "@aws-sdk/client-dynamodb";
import { GetQueueAttributesCommand, GetQueueUrlCommand, ReceiveMessageCommand, SendMessageCommand } from "@aws-sdk/client-sqs";
import { mkdtempSync, rmSync } from "node:fs";
import { connect } from "node:net";
import { networkInterfaces, tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import {
  createDynamoDbClient,
  createQueueWithDlq,
  createSqsClient,
  startDynamoDbEmulator,
  startSqsEmulator,
  type Emulator,
} from "../sandbox/emulators.ts";

const root = mkdtempSync(join(tmpdir(), "headway-emulators-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** Starts an emulator, runs `body`, always closes it. */
async function using<T>(start: Promise<Emulator>, body: (emulator: Emulator) => Promise<T>): Promise<T> {
  const emulator = await start;
  try {
    return await body(emulator);
  } finally {
    await emulator.close();
  }
}

const portOf = (endpoint: string) => Number(new URL(endpoint).port);

/** Resolves true if something accepts TCP connections at host:port. */
const accepts = (host: string, port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = connect({ host, port, timeout: 1000 });
    socket.once("connect", () => (socket.destroy(), resolve(true)));
    socket.once("error", () => resolve(false));
    socket.once("timeout", () => (socket.destroy(), resolve(false)));
  });

const externalAddress = Object.values(networkInterfaces())
  .flat()
  .find((address) => address !== undefined && address.family === "IPv4" && !address.internal)?.address;

describe("fauxqs (SQS)", () => {
  test("listens on 127.0.0.1 only, on a free port", async () => {
    await using(startSqsEmulator(), async ({ endpoint }) => {
      expect(endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(portOf(endpoint)).toBeGreaterThan(0);
      expect(await accepts("127.0.0.1", portOf(endpoint))).toBe(true);
      if (externalAddress !== undefined) expect(await accepts(externalAddress, portOf(endpoint))).toBe(false);
    });
  });

  test("with a dataDir, queues (with their redrive policy) and queued messages survive a restart", async () => {
    const dataDir = join(root, "fauxqs");
    const sent = await using(startSqsEmulator({ dataDir }), async ({ endpoint }) => {
      const sqs = createSqsClient(endpoint);
      try {
        const queue = await createQueueWithDlq(sqs, "events", { visibilityTimeoutSeconds: 1, maxReceiveCount: 3 });
        const { MessageId } = await sqs.send(
          new SendMessageCommand({ QueueUrl: queue.url, MessageBody: '{"n":1}', MessageAttributes: { kind: { DataType: "String", StringValue: "progress" } } }),
        );
        return { queue, messageId: MessageId };
      } finally {
        sqs.destroy();
      }
    });
    await using(startSqsEmulator({ dataDir }), async ({ endpoint }) => {
      const sqs = createSqsClient(endpoint);
      try {
        const { QueueUrl } = await sqs.send(new GetQueueUrlCommand({ QueueName: "events" }));
        const { Attributes } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ["All"] }));
        expect(Attributes?.VisibilityTimeout).toBe("1");
        expect(JSON.parse(Attributes?.RedrivePolicy ?? "{}")).toEqual({ deadLetterTargetArn: sent.queue.dlqArn, maxReceiveCount: 3 });
        const { Messages } = await sqs.send(new ReceiveMessageCommand({ QueueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1, MessageAttributeNames: ["All"] }));
        expect(Messages?.map((m) => [m.MessageId, m.Body, m.MessageAttributes?.kind?.StringValue])).toEqual([[sent.messageId, '{"n":1}', "progress"]]);
        // The same call on the restored queue is idempotent.
        expect((await createQueueWithDlq(sqs, "events", { visibilityTimeoutSeconds: 1, maxReceiveCount: 3 })).arn).toBe(sent.queue.arn);
      } finally {
        sqs.destroy();
      }
    });
  });

  test("in memory, a restart starts empty", async () => {
    await using(startSqsEmulator(), async ({ endpoint }) => {
      const sqs = createSqsClient(endpoint);
      await createQueueWithDlq(sqs, "events", { visibilityTimeoutSeconds: 1, maxReceiveCount: 3 }).finally(() => sqs.destroy());
    });
    await using(startSqsEmulator(), async ({ endpoint }) => {
      const sqs = createSqsClient(endpoint);
      await expect(sqs.send(new GetQueueUrlCommand({ QueueName: "events" })).finally(() => sqs.destroy())).rejects.toThrow();
    });
  });
});

describe("dynalite (DynamoDB)", () => {
  const table = "progress";
  const createTable = new CreateTableCommand({
    TableName: table,
    BillingMode: "PAY_PER_REQUEST",
    KeySchema: [{ AttributeName: "pk", KeyType: "HASH" }, { AttributeName: "sk", KeyType: "RANGE" }],
    AttributeDefinitions: [{ AttributeName: "pk", AttributeType: "S" }, { AttributeName: "sk", AttributeType: "S" }],
  });
  const key = { pk: { S: "job#1" }, sk: { S: "head" } };

  test("listens on 127.0.0.1 only, on a free port", async () => {
    await using(startDynamoDbEmulator(), async ({ endpoint }) => {
      expect(endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(await accepts("127.0.0.1", portOf(endpoint))).toBe(true);
      if (externalAddress !== undefined) expect(await accepts(externalAddress, portOf(endpoint))).toBe(false);
    });
  });

  test("with a dataDir, tables and items survive a restart; a second server on the same dataDir is refused", async () => {
    const dataDir = join(root, "dynalite");
    await using(startDynamoDbEmulator({ dataDir }), async ({ endpoint }) => {
      const db = createDynamoDbClient(endpoint);
      try {
        await db.send(createTable);
        // Even with createTableMs 0 the table is CREATING (item calls: ResourceNotFound) for a tick.
        await waitUntilTableExists({ client: db, maxWaitTime: 10, minDelay: 0.05, maxDelay: 0.2 }, { TableName: table });
        await db.send(new PutItemCommand({ TableName: table, Item: { ...key, version: { N: "7" } } }));
        // LevelDB holds a lock on its directory while open.
        await expect(startDynamoDbEmulator({ dataDir })).rejects.toThrow(/dynalite cannot open .*lock/i);
      } finally {
        db.destroy();
      }
    });
    await using(startDynamoDbEmulator({ dataDir }), async ({ endpoint }) => {
      const db = createDynamoDbClient(endpoint);
      try {
        const { Item } = await db.send(new GetItemCommand({ TableName: table, Key: key, ConsistentRead: true }));
        expect(Item).toEqual({ ...key, version: { N: "7" } });
      } finally {
        db.destroy();
      }
    });
  });

  test("in memory, a restart starts empty", async () => {
    await using(startDynamoDbEmulator(), async ({ endpoint }) => {
      const db = createDynamoDbClient(endpoint);
      await db.send(createTable).finally(() => db.destroy());
    });
    await using(startDynamoDbEmulator(), async ({ endpoint }) => {
      const db = createDynamoDbClient(endpoint);
      expect((await db.send(new ListTablesCommand({})).finally(() => db.destroy())).TableNames).toEqual([]);
    });
  });
});
