/**
 * Tenants and their API keys as the product sees them: the name rules, the key format (a random
 * secret shown once, recognised later by a short visible prefix), and the admin API's wire
 * formats. Pure: the randomness of a new key comes in as bytes.
 */
import { z } from "zod";
import { unknownKeyError } from "../contract/issues.ts";
import type { ApiKeyRecord, AuditEntry, TenantRecord } from "../ports.ts";

/** Tenant names end up in storage keys joined with `#`, in logs and in URLs: a plain, short name. */
export const TenantName = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/, "a tenant name is 1–64 letters, digits, `_`, `.` or `-`, starting with a letter or digit");

/** What an API key looks like: `hw_live_` and 32 hex digits (128 random bits). */
export const API_KEY_PREFIX = "hw_live_";
const VISIBLE_HEX = 8;

export function formatApiKey(random: Uint8Array): string {
  if (random.length < 16) throw new Error("an API key needs 16 random bytes");
  return `${API_KEY_PREFIX}${Buffer.from(random.subarray(0, 16)).toString("hex")}`;
}

/**
 * The start of a key that people see in listings to recognise it (`hw_live_ab12cd34`): the
 * scheme and 8 hex digits (32 of the 128 bits, too few to guess the rest from). Keys of other
 * shapes (the sandbox's `hw_dev_…`, tests' keys) show their scheme and as much, or a quarter of
 * a key that has no scheme.
 */
export function visiblePrefix(apiKey: string): string {
  const match = /^(hw_[a-z]+_)([0-9a-f]+)$/.exec(apiKey);
  if (match !== null) return `${match[1]}${match[2]!.slice(0, VISIBLE_HEX)}`;
  return apiKey.slice(0, Math.min(VISIBLE_HEX, Math.floor(apiKey.length / 4)));
}

/** A key's id (`key_` and 12 hex digits of its SHA-256 hash): stable, so storing the same key twice makes one record. */
export const keyIdOf = (keyHash: string) => `key_${keyHash.slice(0, 12)}`;
export const KeyId = z.string().regex(/^key_[0-9a-f]{12}$/);

const strict = <Shape extends z.core.$ZodLooseShape>(shape: Shape) => z.strictObject(shape, { error: unknownKeyError(Object.keys(shape)) });

/**
 * What an API key may do (DESIGN §4, "keys do one thing"): `ingest` creates jobs and sends events,
 * `read` reads snapshots, streams and logs and mints subscriber tokens, `admin` administers the
 * tenant (its webhook secret, its keys).
 */
export const Scope = z.enum(["ingest", "read", "admin"]);
export type Scope = z.infer<typeof Scope>;
export const ALL_SCOPES: readonly Scope[] = Scope.options;
/** A new key's scopes when none are asked for: a worker's key makes and reads jobs; `admin` must be asked for. */
export const DEFAULT_SCOPES: readonly Scope[] = ["ingest", "read"];
/** Scopes as a request gives them: one or more, each once, kept in the order of ALL_SCOPES. */
export const Scopes = z
  .array(Scope)
  .min(1, "give at least one scope: ingest, read or admin")
  .transform((scopes) => ALL_SCOPES.filter((scope) => scopes.includes(scope)));

export const CreateTenantRequest = strict({ name: TenantName });
export const CreateKeyRequest = strict({
  /** What the key is for, so that people can tell keys apart in listings. */
  name: z.string().min(1).max(100).regex(/^[^\p{Cc}]*$/u, "no control characters").default("unnamed"),
  scopes: Scopes.optional(),
});

export const TenantView = z.object({ name: z.string(), created_at: z.iso.datetime() });
export const TenantList = z.object({ tenants: z.array(TenantView) });

export const KeyView = z.object({
  id: z.string(),
  tenant: z.string(),
  /** The start of the key, to recognise it by; never the whole key. */
  prefix: z.string(),
  name: z.string(),
  scopes: z.array(Scope),
  created_at: z.iso.datetime(),
  revoked_at: z.iso.datetime().nullable(),
});
export const KeyList = z.object({ keys: z.array(KeyView) });
/** A new key: the only time the whole key (`key`) is shown; it is stored hashed. */
export const CreatedKey = KeyView.extend({ key: z.string() });

export const AuditAction = z.enum(["tenant.created", "key.created", "key.revoked", "webhook_secret.created", "webhook_secret.rotated"]);
export type AuditAction = z.infer<typeof AuditAction>;

export const AuditEntryView = z.object({
  at: z.iso.datetime(),
  /**
   * Who: `admin_token` (the admin API), `cli:<user>@<host>` (the admin CLI, which uses AWS
   * credentials), `key:<key id>` (a tenant's own admin-scoped key), `headway` (the service itself:
   * a tenant's first webhook secret, made on first use) or `sandbox` (the sandbox's development key).
   */
  actor: z.string(),
  action: AuditAction,
  tenant: z.string(),
  /** What it acted on beside the tenant: a key's id, or null. */
  target: z.string().nullable(),
  /** Non-secret particulars: a key's prefix and name, a rotation's overlap. */
  details: z.record(z.string(), z.union([z.string(), z.number()])),
  /** The API request's id, when it came through the API. */
  request_id: z.string().nullable(),
});
export const AuditList = z.object({ entries: z.array(AuditEntryView) });
export const AuditQuery = z.object({ limit: z.coerce.number().int().min(1).max(1000).default(100) });

// ---------------------------------------------------------------- records to wire (API and CLI --json alike)

const iso = (ms: number) => new Date(ms).toISOString();

export const tenantView = (tenant: TenantRecord): z.infer<typeof TenantView> => ({ name: tenant.name, created_at: iso(tenant.createdAtMs) });

export const keyView = (key: ApiKeyRecord): z.infer<typeof KeyView> => ({
  id: key.id,
  tenant: key.tenant,
  prefix: key.prefix,
  name: key.name,
  scopes: [...key.scopes],
  created_at: iso(key.createdAtMs),
  revoked_at: key.revokedAtMs === null ? null : iso(key.revokedAtMs),
});

export const auditView = (entry: AuditEntry): z.infer<typeof AuditEntryView> => ({
  at: iso(entry.atMs),
  actor: entry.actor,
  action: entry.action,
  tenant: entry.tenant,
  target: entry.target,
  details: entry.details,
  request_id: entry.requestId,
});
