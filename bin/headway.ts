#!/usr/bin/env node
/**
 * The `headway` command: `headway replay FILE [--detail]` (and, with the sandbox, `headway start`).
 * Runs on Node ≥ 22.18/24 with native TypeScript type stripping; `npx headway` uses the project's Node 24.
 */
import { createReadStream } from "node:fs";
import { createInterface } from "node:readline";
import { parseArgs } from "node:util";
import { createReplay } from "../core/replay.ts";
import { HeadwayError } from "../core/errors.ts";

const USAGE = `usage:
  headway replay FILE [--detail]   print each job's final snapshot (one JSON line per job)
                                   FILE is NDJSON: one event or {"v":1,"events":[...]} per line; - reads stdin`;

async function replay(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args, options: { detail: { type: "boolean", default: false } }, allowPositionals: true });
  const file = positionals[0];
  if (file === undefined || positionals.length > 1) {
    process.stderr.write(`${USAGE}\n`);
    return 2;
  }
  const input = file === "-" ? process.stdin : createReadStream(file, { encoding: "utf8" });
  const replayer = createReplay();
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
