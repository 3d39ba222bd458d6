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
import { createReplay } from "../core/replay.ts";
import { HeadwayError } from "../core/errors.ts";

const USAGE = `usage:
  headway start [--port N] [--memory] [--data DIR] [--json] [--verbose]
                                   run the service locally (the sandbox); --port 0 picks free ports
  headway watch JOB [--url URL] [--api-key KEY] [--json]
                                   live bars for a job until it ends (exit 0 completed, 1 failed or cancelled)
                                   --url: HEADWAY_URL, else the sandbox's http://127.0.0.1:8787
                                   --api-key: HEADWAY_API_KEY, else the sandbox's (.headway/dev-api-key)
                                   --json (or stdout not a terminal): one JSON snapshot per line
  headway replay FILE [--detail]   print each job's final snapshot (one JSON line per job)
                                   FILE is NDJSON: one event or {"v":1,"events":[...]} per line; - reads stdin
  headway tenants create NAME | tenants list
  headway keys create --tenant T [--name N] | keys list --tenant T | keys revoke --tenant T KEY_ID_OR_PREFIX
  headway webhook-secret rotate --tenant T [--overlap-seconds N]   (default 86400)
  headway audit [--limit N]        the admin audit log, newest first
                                   these work on the table: --table NAME (a deployment's, env HEADWAY_TABLE_NAME)
                                   [--region R (env AWS_REGION, default us-east-1)] [--endpoint URL (env
                                   AWS_ENDPOINT_URL_DYNAMODB; a sandbox's, table "headway" by default)];
                                   AWS credentials from the SDK's usual chain; --json prints one JSON line`;

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
    process.stderr.write(`${USAGE}\n`);
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
  switch (command) {
    case "replay":
      return replay(rest);
    case "start":
      return start(rest);
    case "tenants":
    case "keys":
    case "webhook-secret":
    case "audit":
      return (await import("./admin.ts")).runAdminCommand(command, rest);
    case "watch":
      return (await import("./watch.ts")).watch(rest);
    case undefined:
    case "help":
    case "--help":
      process.stdout.write(`${USAGE}\n`);
      return command === undefined ? 2 : 0;
    default:
      process.stderr.write(`headway: unknown command "${command}"\n${USAGE}\n`);
      return 2;
  }
}

process.exitCode = await main(process.argv.slice(2));
