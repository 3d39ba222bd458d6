#!/usr/bin/env node
/**
 * The `headway` command: `headway start` (the sandbox), `headway watch JOB`, `headway replay FILE
 * [--detail]`, and the admin commands of bin/admin.ts (tenants, keys, webhook secrets) against a
 * sandbox or a deployment.
 * Runs on Node ≥ 22.18/24 with native TypeScript type stripping; `npx headway` uses the project's Node 24.
 */
import { createReadStream } from "node:fs";
import { createInterface } from "node:readline";
import { parseArgs } from "node:util";
import { createReplay } from "../core/estimator/index.ts";
import { HeadwayError } from "../core/errors.ts";
import { asksForHelp, describeArgumentError, isArgumentError, isCommandName, overallUsage, usageOf, type CommandName } from "./usage.ts";

async function start(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      port: { type: "string", default: "8787" },
      memory: { type: "boolean", default: false },
      data: { type: "string", default: ".headway" },
      json: { type: "boolean", default: false },
      verbose: { type: "boolean", default: false },
    },
  });
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65_000) {
    process.stderr.write(`headway start: --port must be 0 or a port number\n`);
    return 2;
  }
  const { startSandbox } = await import("../sandbox/sandbox.ts");
  const { sandboxLog } = await import("../sandbox/console.ts");
  let sandbox: Awaited<ReturnType<typeof startSandbox>>;
  try {
    sandbox = await startSandbox({ port, memory: values.memory, dataDir: values.data, log: sandboxLog(values.verbose) });
  } catch (error) {
    const message = String((error as Error).message);
    if (/LOCK|cannot open/.test(message)) {
      process.stderr.write(`headway start: ${values.data}/ is in use by another sandbox; stop it, or start with --data DIR or --memory\n`);
    } else if ((error as NodeJS.ErrnoException).code === "EADDRINUSE") {
      process.stderr.write(`headway start: port ${(error as { port?: number }).port ?? port} is in use; start with --port N (or --port 0 for free ports)\n`);
    } else {
      throw error;
    }
    return 1;
  }
  const ready = {
    http: sandbox.http,
    dashboard: sandbox.dashboard,
    websocket: sandbox.websocket,
    sqs_endpoint: sandbox.sqsEndpoint,
    queue_url: sandbox.queueUrl,
    dynamodb_endpoint: sandbox.dynamodbEndpoint,
    api_key: sandbox.apiKey,
    webhook_secret: sandbox.webhookSecret,
    admin_token: sandbox.adminToken,
  };
  if (values.json) process.stdout.write(`${JSON.stringify(ready)}\n`);
  else {
    const { describeSandbox } = await import("../sandbox/console.ts");
    process.stdout.write(describeSandbox(sandbox, values.memory ? null : values.data));
  }
  await new Promise<void>((resolve) => {
    const shutdown = () => resolve();
    process.once("SIGINT", shutdown);
    process.once("SIGTERM", shutdown);
  });
  if (!values.json) process.stdout.write("stopping: finishing the reducer's batches…\n");
  await sandbox.stop();
  return 0;
}

async function replay(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args, options: { detail: { type: "boolean", default: false } }, allowPositionals: true });
  const file = positionals[0];
  if (file === undefined || positionals.length > 1) {
    process.stderr.write(`headway replay: give one FILE (or - for stdin)\n${usageOf("replay")}`);
    return 2;
  }
  const input = file === "-" ? process.stdin : createReadStream(file, { encoding: "utf8" });
  const replayer = createReplay({ onNotice: (message) => process.stderr.write(`headway replay: ${file}: ${message}\n`) });
  let lineNumber = 0;
  try {
    for await (const line of createInterface({ input, crlfDelay: Infinity })) replayer.applyLine(line, ++lineNumber);
  } catch (error) {
    if (error instanceof HeadwayError) {
      process.stderr.write(`headway replay: ${file}: ${error.message}\n`);
      return 1;
    }
    if ((error as NodeJS.ErrnoException).code === "ENOENT") {
      process.stderr.write(`headway replay: ${file}: no such file\n`);
      return 1;
    }
    throw error;
  }
  for (const snapshot of replayer.snapshots({ detail: values.detail })) process.stdout.write(`${JSON.stringify(snapshot)}\n`);
  return 0;
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === "help" || command === "--help" || command === "-h") {
    const topic = command === "help" ? rest[0] : undefined;
    process.stdout.write(isCommandName(topic) ? usageOf(topic) : overallUsage());
    return command === undefined ? 2 : 0;
  }
  if (!isCommandName(command)) {
    process.stderr.write(`headway: unknown command "${command}"\n${overallUsage()}`);
    return 2;
  }
  if (asksForHelp(rest)) {
    process.stdout.write(usageOf(command));
    return 0;
  }
  try {
    return await run(command, rest);
  } catch (error) {
    if (!isArgumentError(error)) throw error;
    process.stderr.write(`headway ${command}: ${describeArgumentError(error)}\n${usageOf(command)}`);
    return 2;
  }
}

function run(command: CommandName, args: string[]): Promise<number> {
  switch (command) {
    case "replay":
      return replay(args);
    case "start":
      return start(args);
    case "watch":
      return import("./watch.ts").then(({ watch }) => watch(args));
    case "tenants":
    case "keys":
    case "webhook-secret":
    case "audit":
      return import("./admin.ts").then(({ runAdminCommand }) => runAdminCommand(command, args));
    default: {
      const unknown: never = command;
      throw new Error(`no such command: ${String(unknown)}`);
    }
  }
}

process.exitCode = await main(process.argv.slice(2));
