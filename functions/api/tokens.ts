/** Subscriber tokens (`POST /v1/tokens`): minted by a `read` key for the tenant's jobs, naming the key (revoking it revokes them). */
import { Hono } from "hono";
import { mintToken, tokenKeysOf } from "../../core/access/token.ts";
import { TokenRequest } from "../../core/contract/http.ts";
import { invalidInput } from "../../core/contract/issues.ts";
import type { ApiKeyStore, JobStore } from "../../core/ports.ts";
import { jobOf, jsonBody, keyAuth, type ApiEnv } from "./request.ts";

export interface TokensDeps {
  store: JobStore;
  apiKeys: Pick<ApiKeyStore, "principalOf" | "revokedAt">;
  now: () => number;
  /** The subscriber-token signing secrets as configured: one, or several separated by spaces, the newest (signing) first. */
  tokenSecret: string;
  websocketUrl?: string | null;
}

/** Mounted at `/v1/tokens`. */
export function createTokensApp(deps: TokensDeps): Hono<ApiEnv> {
  const app = new Hono<ApiEnv>();
  const tokenKeys = tokenKeysOf(deps.tokenSecret);

  app.post("/", keyAuth(deps.apiKeys)("read"), async (c) => {
    const body = TokenRequest.safeParse(await jsonBody(c));
    if (!body.success) throw invalidInput(body.error);
    for (const jobId of body.data.job_ids) await jobOf(deps.store, c, jobId);
    const expiresAtMs = deps.now() + body.data.expires_in_seconds * 1000;
    const key = c.get("key");
    const token = mintToken({ tenant: key.tenant, keyId: key.keyId, jobIds: body.data.job_ids, expiresAtMs }, tokenKeys);
    return c.json({ token, expires_at: new Date(Math.floor(expiresAtMs / 1000) * 1000).toISOString(), websocket_url: deps.websocketUrl ?? null }, 201);
  });

  return app;
}
