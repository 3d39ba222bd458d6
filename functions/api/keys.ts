/** A tenant's own API keys (`/v1/keys`), administered with an admin-scoped key of that tenant and audited as `key:<id>`. */
import { Hono } from "hono";
import { keyView } from "../../core/access/keys.ts";
import { CreateKeyRequest, DEFAULT_SCOPES } from "../../core/contract/admin.ts";
import { invalidInput } from "../../core/contract/issues.ts";
import type { ApiKeyStore } from "../../core/ports.ts";
import type { Admin } from "../admin.ts";
import { actorOf, jsonBodyOrEmpty, keyAuth, type ApiEnv } from "./request.ts";

/** Mounted at `/v1/keys`. */
export function createKeysApp(deps: { admin: Admin; apiKeys: Pick<ApiKeyStore, "principalOf" | "revokedAt"> }): Hono<ApiEnv> {
  const app = new Hono<ApiEnv>();
  const admin = keyAuth(deps.apiKeys)("admin");

  app.get("/", admin, async (c) => c.json({ keys: (await deps.admin.listKeys(c.get("tenant"), actorOf(c))).map(keyView) }));

  app.post("/", admin, async (c) => {
    const body = CreateKeyRequest.safeParse(await jsonBodyOrEmpty(c));
    if (!body.success) throw invalidInput(body.error);
    const { apiKey, record } = await deps.admin.createKey(actorOf(c), c.get("tenant"), body.data.name, body.data.scopes ?? DEFAULT_SCOPES);
    return c.json({ ...keyView(record), key: apiKey }, 201);
  });

  app.delete("/:key", admin, async (c) => c.json(keyView(await deps.admin.revokeKey(actorOf(c), c.get("tenant"), c.req.param("key")))));

  return app;
}
