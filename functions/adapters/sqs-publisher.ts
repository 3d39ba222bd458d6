/**
 * EventPublisher on SQS: events go out as envelopes of one job (core/contract/envelopes.ts: ≤ 500 events, ≤ 256 KB each so
 * any queue configuration takes them), ten messages per SendMessageBatch; entries SQS refuses
 * are retried, and a publish resolves only once every message was accepted. Each message names
 * its tenant in the `tenant` message attribute (the reducer reads it; absent means `default`).
 */
import { ChangeMessageVisibilityCommand, SendMessageBatchCommand, SendMessageCommand, type SQSClient } from "@aws-sdk/client-sqs";
import type { EventPublisher, WebhookQueue } from "../../core/ports.ts";

const MAX_ATTEMPTS = 5;

export function createSqsPublisher(options: { client: SQSClient; queueUrl: string }): EventPublisher & {
  delay(receiptHandle: string, seconds: number): Promise<void>;
} {
  const { client, queueUrl } = options;
  return {
    async publish(messages, tenant) {
      const MessageAttributes = { tenant: { DataType: "String", StringValue: tenant } };
      for (let i = 0; i < messages.length; i += 10) {
        let entries = messages.slice(i, i + 10).map((message, index) => ({ Id: String(index), MessageBody: JSON.stringify(message), MessageAttributes }));
        for (let attempt = 1; entries.length > 0; attempt++) {
          const result = await client.send(new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries: entries }));
          const failedIds = new Set((result.Failed ?? []).map((failure) => failure.Id));
          entries = entries.filter((entry) => failedIds.has(entry.Id));
          if (entries.length > 0 && attempt >= MAX_ATTEMPTS) {
            throw new Error(`SQS refused ${entries.length} message(s): ${(result.Failed ?? []).map((f) => f.Message).join("; ")}`);
          }
          if (entries.length > 0) await new Promise((resolve) => setTimeout(resolve, 50 * 2 ** attempt));
        }
      }
    },
    async delay(receiptHandle, seconds) {
      await client.send(new ChangeMessageVisibilityCommand({ QueueUrl: queueUrl, ReceiptHandle: receiptHandle, VisibilityTimeout: Math.round(seconds) }));
    },
  };
}

/** The webhook queue: one delivery per message, delayed (SQS allows at most 15 minutes). */
export function createSqsWebhookQueue(options: { client: SQSClient; queueUrl: string }): WebhookQueue {
  return {
    async enqueue(delivery, delaySeconds) {
      await options.client.send(
        new SendMessageCommand({ QueueUrl: options.queueUrl, MessageBody: JSON.stringify(delivery), DelaySeconds: Math.max(0, Math.min(900, Math.round(delaySeconds))) }),
      );
    },
  };
}
