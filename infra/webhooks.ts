/**
 * Webhook deliveries: the ticker enqueues one per finished job with a `notify_url`; the sender
 * signs and POSTs it, and puts failed attempts back with the retry schedule's delay. The DLQ
 * takes messages the sender itself keeps failing on (not deliveries a receiver refuses: those
 * are logged, retried on schedule, and given up after about 3 days).
 */
import { WEBHOOKS } from "../functions/settings";
import { table } from "./storage";

export const webhooksDlq = new sst.aws.Queue("WebhooksDlq");

export const webhooks = new sst.aws.Queue("Webhooks", {
  visibilityTimeout: `${WEBHOOKS.visibilityTimeoutSeconds} seconds`,
  dlq: { queue: webhooksDlq.arn, retry: WEBHOOKS.maxReceiveCount },
});

webhooks.subscribe(
  {
    handler: "functions/entry/webhook-sender.handler",
    // Ten deliveries at 15 s each at most, in parallel.
    timeout: `${WEBHOOKS.senderTimeoutSeconds} seconds`,
    memory: "512 MB",
    // Signs with each tenant's secrets, read from the table.
    link: [table, webhooks],
    environment: {
      HEADWAY_TABLE_NAME: table.name,
      HEADWAY_WEBHOOK_QUEUE_URL: webhooks.url,
    },
  },
  { batch: { size: WEBHOOKS.batchSize, partialResponses: true } },
);
