/**
 * The admin API's wire formats (tenants, API keys and their scopes, the audit log), shared by the
 * admin API, a tenant's own `/v1/keys` and the CLI's `--json`.
 */
import { z } from "zod";
import { unknownKeyError } from "./issues.ts";

/** Tenant names end up in storage keys joined with `#`, in logs and in URLs: a plain, short name. */
export const TenantName = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/, "a tenant name is 1–64 letters, digits, `_`, `.` or `-`, starting with a letter or digit");

export const KeyId = z.string().regex(/^key_[0-9a-f]{12}$/);

const strict = <Shape extends z.core.$ZodLooseShape>(shape: Shape) => z.strictObject(shape, { error: unknownKeyError(Object.keys(shape)) });

/**
 * What an API key may do (docs/tenants-and-keys.md, "keys do one thing"): `ingest` creates jobs and sends events,
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
