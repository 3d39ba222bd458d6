/**
 * The admin API (docs/operating.md), a hono sub-app mounted at `/v1/admin` with its own auth: the admin
 * token (the `AdminToken` secret), compared in constant time; tenants' API keys are never
 * accepted here, and the admin token is never accepted on the tenant routes. The operations and
 * their audit are functions/admin.ts's, shared with the CLI.
 */
import { Hono, type Context } from "hono";
import { isSameSecret } from "../../core/access/secret-compare.ts";
import { invalidInput } from "../../core/contract/issues.ts";
import { HeadwayError } from "../../core/errors.ts";
import { AuditQuery, CreateKeyRequest, CreateTenantRequest, DEFAULT_SCOPES } from "../../core/contract/admin.ts";
import { auditView, keyView, tenantView } from "../../core/access/keys.ts";
import { RotateWebhookSecretRequest } from "../../core/contract/webhooks.ts";
import { secretResponse } from "../../core/delivery/webhooks.ts";
import type { Admin } from "../admin.ts";
import type { Log } from "../config.ts";
import { bearerOf, jsonBodyOrEmpty } from "./request.ts";

export type AdminEnv = { Variables: { requestId: string } };
type Env = AdminEnv;

/** A shorter admin token is a mistake to refuse, not a credential to trust. */
export const MIN_ADMIN_TOKEN_CHARS = 16;


export function createAdminApp(deps: { admin: Admin; adminToken: string | null; log: Log }): Hono<Env> {
  const { admin } = deps;
  const app = new Hono<Env>();
  const by = (c: Context<Env>) => ({ actor: "admin_token", requestId: c.get("requestId") });

  app.use("*", async (c, next) => {
    const given = bearerOf(c) ?? undefined;
    if (deps.adminToken === null) throw new HeadwayError("unauthorized", "the admin API is off: no admin token is configured (the AdminToken secret)");
    if (deps.adminToken.length < MIN_ADMIN_TOKEN_CHARS) throw new HeadwayError("unauthorized", `the admin API is off: the admin token is shorter than ${MIN_ADMIN_TOKEN_CHARS} characters (set AdminToken to e.g. \`openssl rand -hex 32\`)`);
    if (given === undefined || !isSameSecret(given, deps.adminToken)) {
      deps.log("warn", "admin request refused", { request_id: c.get("requestId"), method: c.req.method, path: c.req.path, reason: given === undefined ? "no token" : "wrong token" });
      throw new HeadwayError("unauthorized", "send the admin token as `Authorization: Bearer <admin token>`");
    }
    await next();
  });

  app.post("/tenants", async (c) => {
    const body = CreateTenantRequest.safeParse(await jsonBodyOrEmpty(c));
    if (!body.success) throw invalidInput(body.error);
    return c.json(tenantView(await admin.createTenant(by(c), body.data.name)), 201);
  });

  app.get("/tenants", async (c) => c.json({ tenants: (await admin.listTenants()).map(tenantView) }));

  app.post("/tenants/:tenant/keys", async (c) => {
    const body = CreateKeyRequest.safeParse(await jsonBodyOrEmpty(c));
    if (!body.success) throw invalidInput(body.error);
    const { apiKey, record } = await admin.createKey(by(c), c.req.param("tenant"), body.data.name, body.data.scopes ?? DEFAULT_SCOPES);
    return c.json({ ...keyView(record), key: apiKey }, 201);
  });

  app.get("/tenants/:tenant/keys", async (c) => c.json({ keys: (await admin.listKeys(c.req.param("tenant"))).map(keyView) }));

  app.delete("/tenants/:tenant/keys/:key", async (c) => c.json(keyView(await admin.revokeKey(by(c), c.req.param("tenant"), c.req.param("key")))));

  app.post("/tenants/:tenant/webhook-secret/rotate", async (c) => {
    const body = RotateWebhookSecretRequest.safeParse(await jsonBodyOrEmpty(c));
    if (!body.success) throw invalidInput(body.error);
    return c.json(secretResponse(await admin.rotateWebhookSecret(by(c), c.req.param("tenant"), body.data.overlap_seconds)));
  });

  app.get("/audit", async (c) => {
    const query = AuditQuery.safeParse(c.req.query());
    if (!query.success) throw invalidInput(query.error);
    return c.json({ entries: (await admin.auditLog(query.data.limit)).map(auditView) });
  });

  return app;
}
