/**
 * Tenants and keys administered: the operations behind the admin API (functions/api/admin.ts),
 * the admin CLI (bin/admin.ts) and a tenant's own admin-scoped keys (`/v1/keys`,
 * `/v1/webhook-secret/rotate` in functions/api/index.ts), so that every path checks the same things and
 * audits the same way. Every action that changes a key or a secret is written to the audit log
 * and logged as one JSON line (who, what, when) before it is answered, whichever path made it;
 * none ever holds a key itself, only its id and prefix.
 */
import { HeadwayError } from "../core/errors.ts";
import type { ApiKeyRecord, AuditEntry, TenantRecord } from "../core/access/keys.ts";
import type { ApiKeyStore, AuditLog, Tenants, WebhookSecrets } from "../core/ports.ts";
import type { WebhookSecret } from "../core/delivery/webhooks.ts";
import { KeyId, TenantName, type AuditAction, type Scope } from "../core/contract/admin.ts";
import type { Log } from "./config.ts";

export interface AdminDeps {
  tenants: Tenants;
  apiKeys: ApiKeyStore;
  webhookSecrets: WebhookSecrets;
  audit: AuditLog;
  log: Log;
  now: () => number;
}

/**
 * Who acts, and through which request (for the audit log). An actor with `ownTenant` is a
 * tenant's own admin-scoped key: it acts on that tenant alone, which exists by its key's word
 * (the registry is not asked).
 */
export interface Actor {
  actor: string;
  requestId?: string | undefined;
  ownTenant?: string;
}

export type Admin = ReturnType<typeof createAdmin>;

export function createAdmin(deps: AdminDeps) {
  async function audit(by: Actor, action: AuditAction, tenant: string, target: string | null, details: Record<string, string | number> = {}): Promise<void> {
    const entry: AuditEntry = { atMs: deps.now(), actor: by.actor, action, tenant, target, details, requestId: by.requestId ?? null };
    await deps.audit.record(entry);
    deps.log("info", "admin action", { audit: true, actor: entry.actor, action, tenant, target, ...details, request_id: entry.requestId, at: new Date(entry.atMs).toISOString() });
  }

  async function tenantOrThrow(name: string, by?: Actor): Promise<TenantRecord | null> {
    if (by?.ownTenant !== undefined) {
      if (by.ownTenant !== name) throw new HeadwayError("tenant_not_found", `no tenant ${JSON.stringify(name)}`);
      return null;
    }
    const tenant = TenantName.safeParse(name).success ? await deps.tenants.get(name) : null;
    if (tenant === null) throw new HeadwayError("tenant_not_found", `no tenant ${JSON.stringify(name)} (create it first: headway tenants create NAME, or POST /v1/admin/tenants)`);
    return tenant;
  }

  /** A key of the tenant by its id (`key_…`) or its visible prefix (`hw_live_ab12cd34`). */
  function findKey(keys: readonly ApiKeyRecord[], tenant: string, idOrPrefix: string): ApiKeyRecord {
    const wanted = idOrPrefix.replace(/…$/, "");
    const matches = KeyId.safeParse(wanted).success ? keys.filter((key) => key.id === wanted) : keys.filter((key) => key.prefix === wanted);
    if (matches.length === 0) throw new HeadwayError("key_not_found", `tenant ${tenant} has no key ${JSON.stringify(idOrPrefix)} (give a key's id or prefix, as the key list shows them)`);
    if (matches.length > 1) throw new HeadwayError("ambiguous_key", `${matches.length} keys of tenant ${tenant} start with ${wanted}: give the id (${matches.map((key) => key.id).join(", ")})`);
    return matches[0]!;
  }

  return {
    async createTenant(by: Actor, name: string): Promise<TenantRecord> {
      const created = await deps.tenants.create(name);
      if (created === null) throw new HeadwayError("tenant_exists", `tenant ${name} already exists`);
      await audit(by, "tenant.created", name, null);
      return created;
    },

    listTenants: () => deps.tenants.list(),

    async createKey(by: Actor, tenant: string, name: string, scopes: readonly Scope[]): Promise<{ apiKey: string; record: ApiKeyRecord }> {
      await tenantOrThrow(tenant, by);
      const created = await deps.apiKeys.create(tenant, name, scopes);
      await audit(by, "key.created", tenant, created.record.id, { prefix: created.record.prefix, name, scopes: created.record.scopes.join(",") });
      return created;
    },

    /** Stores a given key (the sandbox's development key); audited when this call made it. */
    async ensureKey(by: Actor, apiKey: string, tenant: string, name: string, scopes: readonly Scope[]): Promise<ApiKeyRecord> {
      const { record, isNew } = await deps.apiKeys.putKey(apiKey, tenant, name, scopes);
      if (isNew) await audit(by, "key.created", tenant, record.id, { prefix: record.prefix, name, scopes: record.scopes.join(",") });
      return record;
    },

    async listKeys(tenant: string, by?: Actor): Promise<ApiKeyRecord[]> {
      await tenantOrThrow(tenant, by);
      return deps.apiKeys.list(tenant);
    },

    async revokeKey(by: Actor, tenant: string, idOrPrefix: string): Promise<ApiKeyRecord> {
      await tenantOrThrow(tenant, by);
      const key = findKey(await deps.apiKeys.list(tenant), tenant, idOrPrefix);
      if (key.revokedAtMs !== null) throw new HeadwayError("key_already_revoked", `key ${key.id} (${key.prefix}…) of tenant ${tenant} was already revoked at ${new Date(key.revokedAtMs).toISOString()}`);
      const revoked = await deps.apiKeys.revoke(tenant, key.id);
      if (revoked === null) throw new HeadwayError("key_not_found", `tenant ${tenant} has no key ${key.id}`);
      await audit(by, "key.revoked", tenant, key.id, { prefix: key.prefix, name: key.name });
      return revoked;
    },

    async rotateWebhookSecret(by: Actor, tenant: string, overlapSeconds: number): Promise<WebhookSecret[]> {
      await tenantOrThrow(tenant, by);
      const secrets = await deps.webhookSecrets.rotate(tenant, overlapSeconds * 1000);
      await audit(by, "webhook_secret.rotated", tenant, null, { overlap_seconds: overlapSeconds });
      return secrets;
    },

    /** A tenant's first webhook secret, made on first use by the service itself. */
    webhookSecretCreated: (tenant: string) => audit({ actor: "headway" }, "webhook_secret.created", tenant, null),

    auditLog: (limit: number) => deps.audit.list(limit),
  };
}
