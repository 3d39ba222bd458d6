/**
 * What the API's routes read of a request, in one place: the credential in `Authorization:
 * Bearer`, the key's scopes, a JSON body, and the tenant's job a route names (another tenant's
 * job is, to this tenant, simply not there).
 */
import type { Context } from "hono";
import { createMiddleware } from "hono/factory";
import type { KeyPrincipal } from "../../core/access/keys.ts";
import type { Scope } from "../../core/contract/admin.ts";
import { HeadwayError } from "../../core/errors.ts";
import type { ApiKeyStore, JobMeta, JobRef, JobStore } from "../../core/ports.ts";

export type ApiEnv = { Variables: { tenant: string; requestId: string; key: KeyPrincipal } };

/** Entries returned by the rejection and webhook logs (newest first). */
export const LOG_LIMIT = 100;

export function bearerOf(c: Context): string | null {
  const match = /^Bearer\s+(\S+)$/i.exec(c.req.header("authorization") ?? "");
  return match === null ? null : match[1]!;
}

/** A subscriber token is `<base64url>.<base64url>`; an API key has no dot. */
export function isTokenShaped(credential: string): boolean {
  return /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/.test(credential);
}

/** Refuses a key without the scope a route needs, naming what to do. */
export function requireScope(principal: KeyPrincipal, scope: Scope): void {
  if (!principal.scopes.includes(scope)) {
    throw new HeadwayError("missing_scope", `this API key (${principal.keyId}) lacks the ${scope} scope (it has ${principal.scopes.join(", ")}); use a key made with --scope ${scope}`);
  }
}

/** Why an API key was refused: revoked (when, and what to do), or not a key at all. */
export async function refusedKey(apiKeys: Pick<ApiKeyStore, "revokedAt">, apiKey: string | null, otherwise: string): Promise<HeadwayError> {
  const revokedAtMs = apiKey === null ? null : await apiKeys.revokedAt(apiKey);
  if (revokedAtMs === null) return new HeadwayError("unauthorized", otherwise);
  return new HeadwayError(
    "key_revoked",
    `this API key was revoked at ${new Date(revokedAtMs).toISOString()}; ask an admin of the tenant for a new one (headway keys create, or POST /v1/keys with an admin key)`,
  );
}

/**
 * The auth of a tenant route: an API key in `Authorization: Bearer` with the scope the route
 * names. Each route takes it itself (never a sub-app-wide `use`), so that a route added anywhere
 * is never left open and no route's security depends on the order sub-apps are mounted in.
 */
export function keyAuth(apiKeys: Pick<ApiKeyStore, "principalOf" | "revokedAt">): (scope: Scope) => ReturnType<typeof createMiddleware<ApiEnv>> {
  return (scope) =>
    createMiddleware<ApiEnv>(async (c, next) => {
      const apiKey = bearerOf(c);
      const principal = apiKey === null ? null : await apiKeys.principalOf(apiKey);
      if (principal === null) throw await refusedKey(apiKeys, apiKey, "send a valid API key as `Authorization: Bearer <key>`");
      requireScope(principal, scope);
      c.set("tenant", principal.tenant);
      c.set("key", principal);
      await next();
    });
}

/** A tenant's own key acting on its tenant, for the audit log. */
export const actorOf = (c: Context<ApiEnv>) => ({ actor: `key:${c.get("key").keyId}`, requestId: c.get("requestId"), ownTenant: c.get("tenant") });

export const refOf = (c: Context<ApiEnv>, jobId: string): JobRef => ({ tenant: c.get("tenant"), jobId });

export const jobNotFound = (jobId: string) => new HeadwayError("job_not_found", `no job ${jobId}`);

/** The tenant's job of that id, or a 404. */
export async function jobOf(store: JobStore, c: Context<ApiEnv>, jobId: string): Promise<JobMeta> {
  const head = await store.loadForBatch(refOf(c, jobId), []);
  if (head === null) throw jobNotFound(jobId);
  return head.meta;
}

export function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new HeadwayError("invalid_json", `the body is not JSON: ${(error as Error).message}`);
  }
}

export async function jsonBody(c: Context): Promise<unknown> {
  return parseJson(await c.req.text());
}

/** The body as JSON, `{}` when empty (bodies whose every field has a default). */
export async function jsonBodyOrEmpty(c: Context): Promise<unknown> {
  const text = await c.req.text();
  return text.trim() === "" ? {} : parseJson(text);
}

/** The job a request is about, for its log line (middleware runs before a route's params are known). */
export function jobIdIn(path: string): string | null {
  return /^\/v1\/jobs\/([^/]+)/.exec(path)?.[1] ?? null;
}
