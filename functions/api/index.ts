/**
 * The HTTP API (docs/http-api.md) as one hono app of sub-apps, each authenticating on its own, so that
 * no route's security depends on the order they are mounted in: on Lambda behind a Function URL
 * with response streaming (functions/entry/api.ts), in the sandbox on @hono/node-server. Every
 * error is JSON naming the offending fields, with the status functions/errors.ts gives its code.
 *
 * - jobs (jobs.ts), webhooks (webhooks.ts), keys (keys.ts) and tokens (tokens.ts) take an API key
 *   in `Authorization: Bearer` and nothing else, each route asking for the scope it needs
 *   (`ingest`, `read`, `admin`: docs/tenants-and-keys.md);
 * - the update stream (streams.ts) takes a subscriber token (in the header, or in `?token=` for
 *   browsers' EventSource) or an API key with `read` in the header, never in a URL;
 * - the admin API (admin.ts) takes the admin token alone.
 * Jobs are the tenant's own: an id another tenant uses is, to this tenant, simply free (and
 * reading it a 404).
 */
import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { requestId } from "hono/request-id";
import { openApiDocument } from "../../core/contract/openapi.ts";
import { HeadwayError } from "../../core/errors.ts";
import type { ApiKeyStore } from "../../core/ports.ts";
import type { Admin } from "../admin.ts";
import type { Log } from "../config.ts";
import { wireError } from "../errors.ts";
import type { AdminEnv } from "./admin.ts";
import { createJobsApp, type JobsDeps } from "./jobs.ts";
import { createKeysApp } from "./keys.ts";
import { jobIdIn, type ApiEnv } from "./request.ts";
import { createStreamApp, type StreamsDeps } from "./streams.ts";
import { createTokensApp } from "./tokens.ts";
import { createWebhooksApp, type WebhooksDeps } from "./webhooks.ts";

export type { ApiEnv } from "./request.ts";

export type ApiDeps = JobsDeps &
  StreamsDeps &
  WebhooksDeps & {
    apiKeys: ApiKeyStore;
    /** The audited operations a tenant's admin-scoped key may run on its own tenant (its keys, its webhook secret). */
    admin: Admin;
    log: Log;
    /** The admin API (functions/api/admin.ts), mounted at /v1/admin with its own auth. */
    adminApp?: Hono<AdminEnv>;
  };

const MAX_BODY_BYTES = 1024 * 1024;

export function createApp(deps: ApiDeps): Hono<ApiEnv> {
  const app = new Hono<ApiEnv>();
  app.use(requestId());
  app.use(async (c, next) => {
    const started = deps.now();
    await next();
    deps.log("info", "request", { request_id: c.get("requestId"), tenant: c.get("tenant") ?? null, job_id: jobIdIn(c.req.path), method: c.req.method, path: c.req.path, status: c.res.status, ms: deps.now() - started });
  });
  app.use("/v1/*", bodyLimit({ maxSize: MAX_BODY_BYTES, onError: () => { throw new HeadwayError("oversized", `request bodies are limited to ${MAX_BODY_BYTES} bytes`); } }));

  app.get("/v1/openapi.json", (c) => c.json(openApiDocument()));
  if (deps.adminApp !== undefined) app.route("/v1/admin", deps.adminApp);
  app.route("/v1/jobs/:id/stream", createStreamApp(deps));
  app.route("/v1", createJobsApp(deps));
  app.route("/v1", createWebhooksApp(deps));
  app.route("/v1/keys", createKeysApp(deps));
  app.route("/v1/tokens", createTokensApp(deps));

  app.notFound((c) => {
    const { status, http } = wireError("not_found");
    return c.json({ error: { code: http, message: `no route ${c.req.method} ${c.req.path}`, request_id: c.get("requestId") } }, status);
  });

  app.onError((error, c) => {
    const request_id = c.get("requestId");
    if (error instanceof HeadwayError) {
      const { status, http } = wireError(error.code);
      const fields = error.issues.length > 0 ? error.issues : undefined;
      return c.json({ error: { code: http, message: error.message, ...(fields === undefined ? {} : { fields }), request_id } }, status);
    }
    deps.log("error", "request failed", { request_id, tenant: c.get("tenant") ?? null, job_id: jobIdIn(c.req.path), error: String(error), stack: (error as Error).stack });
    const { status, http } = wireError("internal");
    return c.json({ error: { code: http, message: "internal error", request_id } }, status);
  });

  return app;
}
