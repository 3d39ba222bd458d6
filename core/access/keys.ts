/**
 * Tenants and their API keys as the product sees them: the key format (a random secret shown
 * once, recognised later by a short visible prefix), the records as stored, and the records as
 * the admin API and the CLI show them (the wire formats are core/contract/admin.ts). Pure: the
 * randomness of a new key comes in as bytes.
 */
import type { z } from "zod";
import type { AuditAction, AuditEntryView, KeyView, Scope, TenantView } from "../contract/admin.ts";

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

// ---------------------------------------------------------------- records as stored

/** An API key as stored: never the key itself (only its hash and a visible prefix). */
export interface ApiKeyRecord {
  id: string;
  tenant: string;
  prefix: string;
  name: string;
  scopes: Scope[];
  createdAtMs: number;
  revokedAtMs: number | null;
}

/** Who a request's API key speaks for, and what it may do. */
export interface KeyPrincipal {
  tenant: string;
  keyId: string;
  scopes: Scope[];
}

export interface TenantRecord {
  name: string;
  createdAtMs: number;
}

/** One admin action, as kept in the audit log: who did what to which tenant, never a secret. */
export interface AuditEntry {
  atMs: number;
  actor: string;
  action: AuditAction;
  tenant: string;
  target: string | null;
  details: Record<string, string | number>;
  requestId: string | null;
}
