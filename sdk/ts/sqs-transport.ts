/**
 * Sends envelopes straight to the events queue with the caller's SQSClient (for producers holding
 * IAM rights to it). Each message names its tenant in the `tenant` attribute (absent: `default`).
 * Entries go ten at a time and ≤ 256 KB a batch; entries SQS fails on its side, throttling, 5xx and
 * network errors are retried; a sender fault (a 4xx, an entry SQS calls the sender's fault) is not.
 * The AWS SDK is imported on first use, so producers on HTTP never load it.
 */
import type { SQSClient } from "@aws-sdk/client-sqs";
import type { Message } from "../../core/contract/events.ts";
import { MAX_ENVELOPE_BYTES, utf8Bytes } from "../../core/contract/envelopes.ts";
import { HeadwaySdkError } from "./errors.ts";
import { Retryable, withRetries, type RetryPolicy } from "./retry.ts";
import type { Transport } from "./transport.ts";

export interface SqsTransportOptions {
  client: SQSClient;
  queueUrl: string;
  /** The tenant the queue's reducer files these events under (the `tenant` message attribute); `default` when absent. */
  tenant?: string;
}

/** An error SQS raised that a retry cannot fix (a 4xx that is not throttling). */
export class HeadwaySqsError extends HeadwaySdkError {}

const THROTTLING = new Set(["ThrottlingException", "RequestThrottled", "RequestThrottledException", "TooManyRequestsException", "ServiceUnavailable", "InternalError"]);

/** Missing credentials are the client's set-up, not the network: trying again cannot help. */
const SETUP_ERRORS = new Set(["CredentialsProviderError"]);

function isRetryable(error: unknown): boolean {
  const e = error as { name?: string; $retryable?: unknown; $metadata?: { httpStatusCode?: number } };
  if (SETUP_ERRORS.has(e.name ?? "") && e.$metadata === undefined) return false;
  const status = e.$metadata?.httpStatusCode;
  return e.$retryable !== undefined || THROTTLING.has(e.name ?? "") || status === undefined || status === 429 || status >= 500;
}

export function createSqsTransport(options: SqsTransportOptions, retry: RetryPolicy): Transport {
  const attributes = options.tenant === undefined ? undefined : { tenant: { DataType: "String", StringValue: options.tenant } };
  let commands: Promise<typeof import("@aws-sdk/client-sqs")> | undefined;

  async function sendBatch(bodies: string[]): Promise<void> {
    const { SendMessageBatchCommand } = await (commands ??= import("@aws-sdk/client-sqs"));
    let entries = bodies.map((body, index) => ({ Id: String(index), MessageBody: body, ...(attributes === undefined ? {} : { MessageAttributes: attributes }) }));
    await withRetries(`SQS SendMessageBatch to ${options.queueUrl}`, retry, async () => {
      let result;
      try {
        result = await options.client.send(new SendMessageBatchCommand({ QueueUrl: options.queueUrl, Entries: entries }));
      } catch (error) {
        if (isRetryable(error)) throw new Retryable(error);
        throw new HeadwaySqsError(`SQS refused the batch: ${(error as Error).message}`, { cause: error });
      }
      const failed = result.Failed ?? [];
      const senderFaults = failed.filter((failure) => failure.SenderFault === true);
      if (senderFaults.length > 0) throw new HeadwaySqsError(`SQS refused ${senderFaults.length} message(s): ${senderFaults.map((f) => `${f.Code}: ${f.Message}`).join("; ")}`);
      const failedIds = new Set(failed.map((failure) => failure.Id));
      entries = entries.filter((entry) => failedIds.has(entry.Id));
      if (entries.length > 0) throw new Retryable(new Error(`SQS failed ${entries.length} message(s): ${failed.map((f) => f.Message).join("; ")}`));
    });
  }

  return {
    async send(_jobId, messages: Message[]) {
      let batch: string[] = [];
      let batchBytes = 0;
      for (const message of messages) {
        const body = JSON.stringify(message);
        const bytes = utf8Bytes(body);
        if (batch.length === 10 || (batch.length > 0 && batchBytes + bytes > MAX_ENVELOPE_BYTES)) {
          await sendBatch(batch);
          batch = [];
          batchBytes = 0;
        }
        batch.push(body);
        batchBytes += bytes;
      }
      if (batch.length > 0) await sendBatch(batch);
    },
  };
}
