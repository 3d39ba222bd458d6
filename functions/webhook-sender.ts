/**
 * The webhook sender: consumes the webhook queue, signs each delivery by the Standard Webhooks
 * spec with the `standardwebhooks` library (`webhook-id` stable across attempts,
 * `webhook-timestamp`, `webhook-signature: v1,<base64>`, one signature per secret of the
 * delivery's tenant that signs now), POSTs it, and logs the attempt. A failed attempt goes back
 * on the queue for the next slot of the retry schedule (core/delivery/webhooks.ts); waits over SQS's
 * 15-minute limit hop through the queue until `not_before_ms`. 410 Gone stops the retries of that
 * delivery and marks the tenant's endpoint gone: its later deliveries are logged, not attempted.
 */
import type { SQSBatchResponse, SQSEvent } from "aws-lambda";
import { randomUUID } from "node:crypto";
import { Webhook } from "standardwebhooks";
import type { WebhookEndpoints, WebhookLog, WebhookQueue, WebhookSecrets } from "../core/ports.ts";
import { retryDelaySeconds } from "../core/delivery/webhooks.ts";
import { WebhookDelivery } from "../core/contract/webhooks.ts";
import type { WebhookTransport } from "./adapters/webhook-http.ts";
import { withFields, type InvocationContext, type Log } from "./config.ts";
import { createMemoryMetrics, type Metrics } from "./metrics.ts";

export interface WebhookSenderDeps {
  transport: WebhookTransport;
  queue: WebhookQueue;
  deliveries: WebhookLog;
  /** Each tenant's `whsec_` secrets: a delivery is signed with every one of its tenant's that signs now. */
  secrets: WebhookSecrets;
  endpoints: WebhookEndpoints;
  now: () => number;
  log: Log;
  /** WebhooksDelivered, WebhookRetries, WebhookGiveUps, WebhooksGone; flushed after each batch. */
  metrics?: Metrics;
}

export function webhookHeaders(secrets: readonly string[], webhookId: string, at: Date, body: string): Record<string, string> {
  const signatures = secrets.map((secret) => new Webhook(secret).sign(webhookId, at, body));
  return { "webhook-id": webhookId, "webhook-timestamp": String(Math.floor(at.getTime() / 1000)), "webhook-signature": signatures.join(" ") };
}

export function createWebhookSender(deps: WebhookSenderDeps): (event: SQSEvent, context?: InvocationContext) => Promise<SQSBatchResponse> {
  const metrics = deps.metrics ?? createMemoryMetrics();

  async function deliver(delivery: WebhookDelivery, log: Log): Promise<void> {
    const nowMs = deps.now();
    if (delivery.not_before_ms > nowMs) {
      await deps.queue.enqueue(delivery, (delivery.not_before_ms - nowMs) / 1000);
      return;
    }
    const logged = { tenant: delivery.tenant, jobId: delivery.job_id, incarnation: delivery.incarnation, webhookId: delivery.webhook_id, attempt: delivery.attempt, url: delivery.url, atMs: nowMs };
    const goneAtMs = await deps.endpoints.goneSince(delivery.tenant, delivery.url);
    if (goneAtMs !== null) {
      const error = `not attempted: the endpoint answered 410 Gone at ${new Date(goneAtMs).toISOString()}`;
      await deps.deliveries.record({ ...logged, outcome: "gone", status: null, error, ms: 0, nextAttemptAtMs: null });
      metrics.count("WebhooksGone");
      return;
    }
    const secrets = await deps.secrets.secretsOf(delivery.tenant);
    const headers = webhookHeaders(secrets.map((secret) => secret.secret), delivery.webhook_id, new Date(nowMs), delivery.body);
    const result = await deps.transport.send(delivery.url, headers, delivery.body);
    const status = result.kind === "response" ? result.status : null;
    const base = { ...logged, status, error: result.kind === "error" ? result.error : null, ms: result.ms };
    if (status !== null && status >= 200 && status < 300) {
      await deps.deliveries.record({ ...base, outcome: "delivered", nextAttemptAtMs: null });
      metrics.count("WebhooksDelivered");
      return;
    }
    if (status === 410) {
      await deps.endpoints.markGone(delivery.tenant, delivery.url, nowMs);
      await deps.deliveries.record({ ...base, outcome: "gone", nextAttemptAtMs: null });
      metrics.count("WebhooksGone");
      log("info", "webhook endpoint gone (410)", { tenant: delivery.tenant, job_id: delivery.job_id, webhook_id: delivery.webhook_id, url: delivery.url });
      return;
    }
    const delay = retryDelaySeconds(delivery.attempt);
    if (delay === null) {
      await deps.deliveries.record({ ...base, outcome: "gave_up", nextAttemptAtMs: null });
      metrics.count("WebhookGiveUps");
      log("warn", "webhook given up", { tenant: delivery.tenant, job_id: delivery.job_id, webhook_id: delivery.webhook_id, attempts: delivery.attempt });
      return;
    }
    const next = { ...delivery, attempt: delivery.attempt + 1, not_before_ms: nowMs + delay * 1000 };
    await deps.queue.enqueue(next, delay);
    await deps.deliveries.record({ ...base, outcome: "failed", nextAttemptAtMs: next.not_before_ms });
    metrics.count("WebhookRetries");
  }

  return async (event, context) => {
    const log = withFields(deps.log, { invocation_id: context?.awsRequestId ?? randomUUID() });
    const failures: { itemIdentifier: string }[] = [];
    await Promise.all(
      event.Records.map(async (record) => {
        let json: unknown;
        try {
          json = JSON.parse(record.body);
        } catch {
          json = null;
        }
        const parsed = WebhookDelivery.safeParse(json);
        if (!parsed.success) {
          log("error", "webhook delivery message rejected", { message_id: record.messageId, reason: parsed.error.message.slice(0, 500) });
          return;
        }
        try {
          await deliver(parsed.data, log);
        } catch (error) {
          log("error", "webhook attempt not recorded; it will be retried", { tenant: parsed.data.tenant, job_id: parsed.data.job_id, webhook_id: parsed.data.webhook_id, error: String(error) });
          failures.push({ itemIdentifier: record.messageId });
        }
      }),
    );
    metrics.flush();
    return { batchItemFailures: failures };
  };
}
