/**
 * What `headway --help` and `headway COMMAND --help` print: one block per command, so each
 * command's usage is printed on its own for its `--help` and for a usage mistake.
 */

export type CommandName = "start" | "watch" | "replay" | "tenants" | "keys" | "webhook-secret" | "audit";

const TABLE_OPTIONS = `  The admin commands work on the table itself, with AWS credentials from the SDK's usual chain:
    --table NAME      a deployment's table (the \`table\` output of \`npx sst deploy\`; env HEADWAY_TABLE_NAME)
    --region R        env AWS_REGION, default us-east-1
    --endpoint URL    a sandbox's DynamoDB, e.g. http://127.0.0.1:8788 (table "headway"; env AWS_ENDPOINT_URL_DYNAMODB)
    --json            one JSON line on stdout; errors as {"error":{"code","message"}} on stderr`;

const COMMANDS: Record<CommandName, string> = {
  start: `headway start [--port N] [--memory] [--data DIR] [--json] [--verbose]
  Runs the whole service on this machine (the sandbox) until Ctrl-C.
    --port N          the HTTP API's port (default 8787); DynamoDB, SQS and WebSocket take the next three; 0 picks free ports
    --memory          keep nothing on disk (default: state under --data)
    --data DIR        where state is kept (default .headway)
    --json            print one JSON line with the endpoints and keys once ready
    --verbose         log every request and batch to stderr`,
  watch: `headway watch JOB [--url URL] [--api-key KEY] [--json]
  Live bars for a job until it ends: exit 0 when it completes, 1 when it fails or is cancelled, 130 on Ctrl-C.
    --url URL         the HTTP API (env HEADWAY_URL, else the sandbox's http://127.0.0.1:8787)
    --api-key KEY     an API key that may read (env HEADWAY_API_KEY, else the sandbox's .headway/dev-api-key)
    --json            one JSON snapshot per line (also when stdout is not a terminal)`,
  replay: `headway replay FILE [--detail]
  Replays an NDJSON event log (one event or {"v":1,"events":[...]} per line; - reads stdin) and
  prints each job's final snapshot, one JSON line per job.
    --detail          add per-step counts, in-flight executions and the true estimate`,
  tenants: `headway tenants create NAME
headway tenants list
  Registers a tenant, or lists them.
${TABLE_OPTIONS}`,
  keys: `headway keys create --tenant T [--name N] [--scope S]...
headway keys list --tenant T
headway keys revoke --tenant T KEY_ID_OR_PREFIX
  Makes an API key (printed once), lists a tenant's keys (never the keys themselves), or revokes one.
    --scope S         what the key may do: ingest, read, admin (repeat it, or ingest,read);
                      without it: ingest and read (admin must be asked for)
${TABLE_OPTIONS}`,
  "webhook-secret": `headway webhook-secret rotate --tenant T [--overlap-seconds N]
  Makes a new webhook signing secret; the previous ones keep signing for N seconds (default 86400).
${TABLE_OPTIONS}`,
  audit: `headway audit [--limit N]
  The admin audit log, newest first (default 100 entries, at most 1000).
${TABLE_OPTIONS}`,
};

export function isCommandName(name: string | undefined): name is CommandName {
  return name !== undefined && Object.hasOwn(COMMANDS, name);
}

export function usageOf(command: CommandName): string {
  const lines = COMMANDS[command].split("\n");
  const forms = lines.filter((line) => line.startsWith("headway "));
  const description = lines.filter((line) => !line.startsWith("headway "));
  return `usage:\n${forms.map((line) => `  ${line}`).join("\n")}\n\n${description.join("\n")}\n`;
}

/** Every command, one line each, and where to read more. */
export function overallUsage(): string {
  const firstLines = Object.values(COMMANDS).flatMap((text) => text.split("\n").filter((line) => line.startsWith("headway ")));
  return `usage:\n${firstLines.map((line) => `  ${line}`).join("\n")}\n\n'headway COMMAND --help' describes one command.\n`;
}

/** Whether the arguments ask for help (before any `--`, after which everything is a positional). */
export function asksForHelp(args: string[]): boolean {
  const end = args.indexOf("--");
  return (end < 0 ? args : args.slice(0, end)).some((arg) => arg === "--help" || arg === "-h");
}

/** A mistake in the command line that node:util's parseArgs reports (unknown option, missing value…). */
export function isArgumentError(error: unknown): error is Error {
  return error instanceof Error && (error as { code?: string }).code?.startsWith("ERR_PARSE_ARGS") === true;
}

/** parseArgs's message without its advice on `--` (which fits positionals, not a mistyped option). */
export function describeArgumentError(error: Error): string {
  return error.message.replace(/\. To specify a positional argument[^]*$/, "");
}
