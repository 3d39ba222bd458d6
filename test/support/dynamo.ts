/** DynamoDB emulators for tests: dynalite always, AWS's DynamoDB Local too where Java exists. */
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll } from "vitest";
import { ensureTable } from "../../functions/adapters/dynamo/table.ts";
import { startDynamoDbEmulator } from "../../sandbox/emulators.ts";
import { hasJava, startDynamoDbLocal } from "./dynamodb-local.ts";

export interface TestTable {
  name: string;
  client: DynamoDBClient;
  close(): Promise<void>;
}

export interface DynamoBackend {
  name: string;
  start(): Promise<{ endpoint: string; close(): Promise<void> }>;
}

export const startDynalite = (options: { port: number }) => startDynamoDbEmulator(options);

export const DYNAMO_BACKENDS: DynamoBackend[] = [
  { name: "dynalite", start: () => startDynalite({ port: 0 }) },
  ...(hasJava() ? [{ name: "DynamoDB Local", start: startDynamoDbLocal }] : []),
];

export function clientFor(endpoint: string): DynamoDBClient {
  return new DynamoDBClient({ region: "us-east-1", endpoint, credentials: { accessKeyId: "test", secretAccessKey: "test" }, maxAttempts: 3 });
}

export async function newTable(endpoint: string): Promise<TestTable> {
  const client = clientFor(endpoint);
  const name = `headway-${randomUUID().slice(0, 8)}`;
  await ensureTable(client, name);
  return { name, client, close: async () => client.destroy() };
}

/**
 * A fresh table on this backend for the enclosing `describe`: the emulator starts before its tests
 * and stops after them. The table's fields are read when a test runs, once it exists.
 */
export function useTable(backend: DynamoBackend): TestTable {
  let emulator: { endpoint: string; close(): Promise<void> } | undefined;
  let table: TestTable | undefined;
  beforeAll(async () => {
    emulator = await backend.start();
    table = await newTable(emulator.endpoint);
  });
  afterAll(async () => {
    await table?.close();
    await emulator?.close();
  });
  function started(): TestTable {
    if (table === undefined) throw new Error(`the ${backend.name} table is used before its describe started it`);
    return table;
  }
  return {
    get name() {
      return started().name;
    },
    get client() {
      return started().client;
    },
    close: () => started().close(),
  };
}
