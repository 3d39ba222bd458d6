/** Shared bits of the benchmarks. */
import type { Log } from "../functions/config.ts";

/** Warnings and errors only, on stderr: the benchmark's figures own stdout. */
export function createSandboxLog(): Log {
  return (level, message, fields = {}) => {
    if (level === "warn" || level === "error") process.stderr.write(`${JSON.stringify({ level, msg: message, ...fields })}\n`);
  };
}
