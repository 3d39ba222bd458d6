/** DynamoDB emulators for tests: dynalite always, AWS's DynamoDB Local too where Java exists. */
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { randomUUID } from "node:crypto";
import { ensureTable } from "../../functions/adapters/dynamo-table.ts";
import dynalite from "dynalite";
import type { AddressInfo } from "node:net";

export interface TestTable {
  name: string;
  client: DynamoDBClient;
  close(): Promise<void>;
}

export interface DynamoBackend {
  name: string;
  start(): Promise<{ endpoint: string; close(): Promise<void> }>;
}

export async function startDynalite(_options: { port: number }): Promise<{ endpoint: string; close(): Promise<void> }> {
  const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return { endpoint: `http://127.0.0.1:${port}`, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

export const DYNAMO_BACKENDS: DynamoBackend[] = [{ name: "dynalite", start: () => startDynalite({ port: 0 }) }];

export function clientFor(endpoint: string): DynamoDBClient {
  return new DynamoDBClient({ region: "us-east-1", endpoint, credentials: { accessKeyId: "test", secretAccessKey: "test" }, maxAttempts: 3 });
}

export async function newTable(endpoint: string): Promise<TestTable> {
  const client = clientFor(endpoint);
  const name = `headway-${randomUUID().slice(0, 8)}`;
  await ensureTable(client, name);
  return { name, client, close: async () => client.destroy() };
}
