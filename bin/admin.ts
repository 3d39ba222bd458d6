/**
 * The admin commands of `headway` (tenants, keys, webhook-secret, audit): they work on the table
 * directly with the caller's AWS credentials (or a sandbox's endpoint), through the same
 * composition root and admin operations as the admin API, and audit each action the same way.
 * They never print a key except the one `keys create` makes, once.
 */
import { DescribeTableCommand, DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { hostname, userInfo } from "node:os";
import { parseArgs } from "node:util";
import { HeadwayError } from "../core/errors.ts";
import { ALL_SCOPES, DEFAULT_SCOPES, Scope } from "../core/contract/admin.ts";
import { auditView, keyView, tenantView } from "../core/access/keys.ts";
import { secretResponse } from "../core/delivery/webhooks.ts";
import { API_KEY_CACHE_MS } from "../functions/adapters/dynamo/api-keys.ts";
import type { Actor, Admin } from "../functions/admin.ts";
import { createServices } from "../functions/composition.ts";
import { silentLog, type Config } from "../functions/config.ts";
import { wireError } from "../functions/errors.ts";
import { DEFAULT_TENANT, EVENTS, SANDBOX_TABLE_NAME } from "../functions/settings.ts";
import { describeArgumentError, isArgumentError, usageOf } from "./usage.ts";

type AdminCommand = "tenants" | "keys" | "webhook-secret" | "audit";

const OPTIONS = {
  table: { type: "string" },
  endpoint: { type: "string" },
  region: { type: "string" },
  json: { type: "boolean", default: false },
  tenant: { type: "string" },
  name: { type: "string" },
  scope: { type: "string", multiple: true },
  "overlap-seconds": { type: "string" },
  limit: { type: "string" },
} as const;

/** A usage mistake: exit 2 with the message. */
class UsageError extends Error {}

type Values = ReturnType<typeof parse>["values"];
const parse = (args: string[]) => parseArgs({ args, options: OPTIONS, allowPositionals: true, strict: true });

export async function runAdminCommand(command: AdminCommand, args: string[]): Promise<number> {
  let isJson = args.includes("--json");
  const label = `headway ${command}${args[0] !== undefined && !args[0].startsWith("-") ? ` ${args[0]}` : ""}`;
  try {
    const { values, positionals } = parse(args);
    isJson = values.json;
    const target = targetOf(values);
    await probe(target);
    const services = createServices(configFor(target), { log: silentLog, now: Date.now });
    try {
      const output = await dispatch(command, positionals, values, services.admin());
      process.stdout.write(isJson ? `${JSON.stringify(output.json)}\n` : `${output.text}\n`);
      return 0;
    } finally {
      await services.close();
    }
  } catch (error) {
    if (error instanceof UsageError || isArgumentError(error)) {
      process.stderr.write(`${label}: ${describeArgumentError(error as Error)}\n${usageOf(command)}`);
      return 2;
    }
    const code = error instanceof HeadwayError ? wireError(error.code).http : "failed";
    const message = error instanceof HeadwayError || error instanceof TargetError ? error.message : describeAwsError(error);
    process.stderr.write(isJson ? `${JSON.stringify({ error: { code, message } })}\n` : `${label}: ${message}\n`);
    return 1;
  }
}

interface Target {
  tableName: string;
  region: string;
  endpoint: string | undefined;
}

function targetOf(values: Values): Target {
  const endpoint = values.endpoint ?? (process.env.AWS_ENDPOINT_URL_DYNAMODB || undefined);
  const tableName = values.table ?? (process.env.HEADWAY_TABLE_NAME || undefined) ?? (endpoint === undefined ? undefined : SANDBOX_TABLE_NAME);
  if (tableName === undefined) throw new UsageError("which table? give --table NAME (a deployment's: the `table` output of `npx sst deploy`) or --endpoint URL (a sandbox's DynamoDB, e.g. http://127.0.0.1:8788)");
  return { tableName, endpoint, region: values.region ?? (process.env.AWS_REGION || process.env.AWS_DEFAULT_REGION || "us-east-1") };
}

/** The composition root's configuration for the table alone: nothing else is reachable from here. */
function configFor(target: Target): Config {
  const none = (what: string) => () => {
    throw new Error(`the admin CLI has no ${what}`);
  };
  return {
    region: target.region,
    tableName: target.tableName,
    dynamodbEndpoint: target.endpoint,
    sqsEndpoint: undefined,
    eventsQueueUrl: none("events queue"),
    defaultTenant: DEFAULT_TENANT,
    maxReceiveCount: EVENTS.maxReceiveCount,
    pendingUnknownJobSeconds: EVENTS.pendingUnknownJobSeconds,
    publicUrl: undefined,
    websocketUrl: null,
    tokenSecret: none("token secret"),
    websocketManagementEndpoint: none("WebSocket endpoint"),
    webhookQueueUrl: none("webhook queue"),
  };
}

class TargetError extends Error {}

/** One quick look at the table (no retries), so that a wrong endpoint, table or credentials is one clear sentence, not a minute of SDK retries. */
async function probe(target: Target): Promise<void> {
  const where = `table ${target.tableName} (${target.endpoint === undefined ? `AWS, region ${target.region}` : target.endpoint})`;
  const client = new DynamoDBClient({
    region: target.region,
    maxAttempts: 1,
    ...(target.endpoint === undefined ? {} : { endpoint: target.endpoint, credentials: { accessKeyId: "headway", secretAccessKey: "headway" } }),
  });
  try {
    await client.send(new DescribeTableCommand({ TableName: target.tableName }));
  } catch (error) {
    const name = (error as Error).name;
    if (name === "ResourceNotFoundException") throw new TargetError(`no ${where}: check --table and --region (the table is the \`table\` output of \`npx sst deploy\`)`);
    // A role allowed to read and write items but not to describe the table still runs commands.
    if (name === "AccessDeniedException") return;
    if (name === "CredentialsProviderError") throw new TargetError(`no AWS credentials for ${where}: set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY (or give a sandbox's --endpoint)`);
    if (isUnreachable(error)) throw new TargetError(`cannot reach DynamoDB for ${where}${target.endpoint === undefined ? "" : ": is the sandbox running (npx headway start)?"}`);
    throw new TargetError(`${where}: ${describeAwsError(error)}`);
  } finally {
    client.destroy();
  }
}

function isUnreachable(error: unknown): boolean {
  const codes = [(error as { code?: string }).code, ((error as { cause?: { code?: string } }).cause)?.code, (error as Error).name];
  return codes.some((code) => code !== undefined && /ECONNREFUSED|ENOTFOUND|EHOSTUNREACH|ETIMEDOUT|ECONNRESET|TimeoutError/.test(code));
}

function describeAwsError(error: unknown): string {
  return `${(error as Error).name}: ${(error as Error).message}`;
}

function actor(): Actor {
  let user = process.env.USER ?? "unknown";
  try {
    user = userInfo().username;
  } catch {
    // No passwd entry (some containers): the environment's USER is the best there is.
  }
  return { actor: `cli:${user}@${hostname()}` };
}

const iso = (ms: number | null) => (ms === null ? "-" : new Date(ms).toISOString());

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
  return rows.map((row) => row.map((cell, column) => cell.padEnd(widths[column]!)).join("  ").trimEnd()).join("\n");
}

function tenantOption(values: Values): string {
  if (values.tenant === undefined) throw new UsageError("--tenant T is required");
  return values.tenant;
}

/** `--scope ingest --scope read`, or `--scope ingest,read`; none given: DEFAULT_SCOPES (`admin` must be asked for). */
function scopesOption(values: Values): Scope[] {
  if (values.scope === undefined) return [...DEFAULT_SCOPES];
  const names = values.scope.flatMap((value) => value.split(/[\s,]+/)).filter((name) => name !== "");
  const unknown = names.filter((name) => !Scope.safeParse(name).success);
  if (unknown.length > 0) throw new UsageError(`unknown scope ${unknown.map((name) => JSON.stringify(name)).join(", ")}: a key's scopes are ${ALL_SCOPES.join(", ")}`);
  if (names.length === 0) throw new UsageError(`--scope needs a scope: ${ALL_SCOPES.join(", ")}`);
  return ALL_SCOPES.filter((scope) => names.includes(scope));
}

function oneArgument(positionals: string[], what: string): string {
  if (positionals.length !== 1) throw new UsageError(`give one ${what}`);
  return positionals[0]!;
}

function integer(text: string | undefined, option: string, fallback: number): number {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!Number.isInteger(value) || value < 0) throw new UsageError(`--${option} must be a whole number`);
  return value;
}

async function dispatch(command: AdminCommand, positionals: string[], values: Values, admin: Admin): Promise<{ text: string; json: unknown }> {
  const [sub, ...rest] = positionals;
  switch (`${command} ${command === "audit" ? "" : (sub ?? "")}`.trim()) {
    case "tenants create": {
      const tenant = await admin.createTenant(actor(), oneArgument(rest, "tenant NAME"));
      return { text: `created tenant ${tenant.name}`, json: tenantView(tenant) };
    }
    case "tenants list": {
      const tenants = await admin.listTenants();
      return { text: tenants.length === 0 ? "no tenants" : table([["TENANT", "CREATED"], ...tenants.map((t) => [t.name, iso(t.createdAtMs)])]), json: { tenants: tenants.map(tenantView) } };
    }
    case "keys create": {
      const { apiKey, record } = await admin.createKey(actor(), tenantOption(values), values.name ?? "unnamed", scopesOption(values));
      return {
        text: `created key ${record.id} (${record.prefix}…) for tenant ${record.tenant}, scopes ${record.scopes.join(", ")}:\n\n  ${apiKey}\n\nThis is the only time it is shown (it is stored hashed): keep it now.`,
        json: { ...keyView(record), key: apiKey },
      };
    }
    case "keys list": {
      const keys = await admin.listKeys(tenantOption(values));
      return {
        text: keys.length === 0 ? "no keys" : table([["ID", "PREFIX", "NAME", "SCOPES", "CREATED", "REVOKED"], ...keys.map((k) => [k.id, `${k.prefix}…`, k.name, k.scopes.join(","), iso(k.createdAtMs), iso(k.revokedAtMs)])]),
        json: { keys: keys.map(keyView) },
      };
    }
    case "keys revoke": {
      const key = await admin.revokeKey(actor(), tenantOption(values), oneArgument(rest, "KEY_ID (or prefix)"));
      return {
        text: `revoked key ${key.id} (${key.prefix}…) of tenant ${key.tenant}: refused by every new lookup now, and by API containers that cached it within ${API_KEY_CACHE_MS / 1000} s`,
        json: keyView(key),
      };
    }
    case "webhook-secret rotate": {
      if (rest.length > 0) throw new UsageError("webhook-secret rotate takes no arguments");
      const secrets = await admin.rotateWebhookSecret(actor(), tenantOption(values), integer(values["overlap-seconds"], "overlap-seconds", 86_400));
      const previous = secrets.slice(1).map((s) => `  ${s.secret.slice(0, 12)}…  signs until ${iso(s.expiresAtMs)}`);
      return { text: [`new webhook secret of tenant ${tenantOption(values)}:`, "", `  ${secrets[0]!.secret}`, ...(previous.length === 0 ? [] : ["", "previous secrets:", ...previous])].join("\n"), json: secretResponse(secrets) };
    }
    case "audit": {
      const entries = await admin.auditLog(integer(values.limit, "limit", 50) || 1);
      return {
        text: entries.length === 0 ? "no admin actions yet" : table([["AT", "ACTOR", "ACTION", "TENANT", "TARGET"], ...entries.map((e) => [iso(e.atMs), e.actor, e.action, e.tenant, e.target ?? "-"])]),
        json: { entries: entries.map(auditView) },
      };
    }
    default:
      throw new UsageError(sub === undefined ? `${command} what?` : `unknown command "${command} ${sub}"`);
  }
}
