/**
 * Webhooks, as a tenant sees them: a job's delivery log (`read`), and the tenant's signing secrets
 * and their rotation (`admin`: a worker's key cannot read or rotate them; rotations are audited).
 */
import { Hono } from "hono";
import { invalidInput } from "../../core/contract/issues.ts";
import { RotateWebhookSecretRequest } from "../../core/contract/webhooks.ts";
import { secretResponse } from "../../core/delivery/webhooks.ts";
import type { ApiKeyStore, JobStore, WebhookLog, WebhookSecrets } from "../../core/ports.ts";
import type { Admin } from "../admin.ts";
import { actorOf, jobOf, jsonBodyOrEmpty, keyAuth, LOG_LIMIT, type ApiEnv } from "./request.ts";

export interface WebhooksDeps {
  store: JobStore;
  webhookLog: WebhookLog;
  /** The tenant's webhook secrets (read here; rotated through `admin`, which audits it). */
  webhookSecrets: WebhookSecrets;
  admin: Admin;
  apiKeys: Pick<ApiKeyStore, "principalOf" | "revokedAt">;
}

/** Mounted at `/v1`. */
export function createWebhooksApp(deps: WebhooksDeps): Hono<ApiEnv> {
  const app = new Hono<ApiEnv>();
  const withKey = keyAuth(deps.apiKeys);

  app.get("/jobs/:id/webhooks", withKey("read"), async (c) => {
    const jobId = c.req.param("id");
    const entries = await deps.webhookLog.list(await jobOf(deps.store, c, jobId), LOG_LIMIT);
    const iso = (ms: number) => new Date(ms).toISOString();
    return c.json({
      job_id: jobId,
      deliveries: entries.map((entry) => ({
        webhook_id: entry.webhookId,
        attempt: entry.attempt,
        url: entry.url,
        outcome: entry.outcome,
        status: entry.status,
        error: entry.error,
        duration_ms: entry.ms,
        at: iso(entry.atMs),
        next_attempt_at: entry.nextAttemptAtMs === null ? null : iso(entry.nextAttemptAtMs),
      })),
    });
  });

  app.get("/webhook-secret", withKey("admin"), async (c) => c.json(secretResponse(await deps.webhookSecrets.secretsOf(c.get("tenant")))));

  app.post("/webhook-secret/rotate", withKey("admin"), async (c) => {
    const body = RotateWebhookSecretRequest.safeParse(await jsonBodyOrEmpty(c));
    if (!body.success) throw invalidInput(body.error);
    return c.json(secretResponse(await deps.admin.rotateWebhookSecret(actorOf(c), c.get("tenant"), body.data.overlap_seconds)));
  });

  return app;
}
