/**
 * A stand-in for Lambda's SQS event source mapping, written by hand because no library emulates
 * it: it long-polls the queue, gathers up to `batchSize` messages within `batchingWindowMs`,
 * invokes the handler with a real `SQSEvent`, deletes what succeeded and leaves what failed to
 * reappear after the visibility timeout, as Lambda does (a thrown error or a malformed
 * `batchItemFailures` fails the whole batch). Moving messages to the DLQ after
 * `maxReceiveCount` receives is the queue's own redrive policy (fauxqs implements it).
 */
import { DeleteMessageBatchCommand, ReceiveMessageCommand, type Message, type SQSClient } from "@aws-sdk/client-sqs";
import type { SQSBatchResponse, SQSEvent, SQSRecord } from "aws-lambda";
import type { Log } from "../functions/config.ts";

export interface EventSourceOptions {
  sqs: SQSClient;
  queueUrl: string;
  queueArn: string;
  handler: (event: SQSEvent) => Promise<SQSBatchResponse | void>;
  batchSize: number;
  batchingWindowMs: number;
  /** Batches processed at once (Lambda's concurrent invocations). */
  concurrency: number;
  log: Log;
  region?: string;
  onBatch?: (stats: { messages: number; failed: number; ms: number }) => void;
}

export interface EventSource {
  /** Stops polling and waits for the batches in flight to finish (so acknowledged work is not lost). */
  stop(): Promise<void>;
}

export function startEventSource(options: EventSourceOptions): EventSource {
  let isStopping = false;
  const abort = new AbortController();

  const recordOf = (message: Message): SQSRecord => ({
    messageId: message.MessageId!,
    receiptHandle: message.ReceiptHandle!,
    body: message.Body ?? "",
    attributes: {
      ApproximateReceiveCount: message.Attributes?.ApproximateReceiveCount ?? "1",
      SentTimestamp: message.Attributes?.SentTimestamp ?? String(Date.now()),
      SenderId: message.Attributes?.SenderId ?? "sandbox",
      ApproximateFirstReceiveTimestamp: message.Attributes?.ApproximateFirstReceiveTimestamp ?? String(Date.now()),
    },
    messageAttributes: {},
    md5OfBody: message.MD5OfBody ?? "",
    eventSource: "aws:sqs",
    eventSourceARN: options.queueArn,
    awsRegion: options.region ?? "us-east-1",
  });

  async function receive(max: number, waitSeconds: number): Promise<Message[]> {
    try {
      const result = await options.sqs.send(
        new ReceiveMessageCommand({ QueueUrl: options.queueUrl, MaxNumberOfMessages: Math.min(10, max), WaitTimeSeconds: waitSeconds, AttributeNames: ["All"] }),
        { abortSignal: abort.signal },
      );
      return result.Messages ?? [];
    } catch (error) {
      if (isStopping) return [];
      throw error;
    }
  }

  async function gather(): Promise<Message[]> {
    const batch = await receive(options.batchSize, 1);
    if (batch.length === 0) return batch;
    const deadline = Date.now() + options.batchingWindowMs;
    while (batch.length < options.batchSize && Date.now() < deadline && !isStopping) {
      const more = await receive(options.batchSize - batch.length, 0);
      if (more.length === 0) await new Promise((resolve) => setTimeout(resolve, Math.min(20, Math.max(0, deadline - Date.now()))));
      batch.push(...more);
    }
    return batch;
  }

  async function deleteMessages(messages: Message[]): Promise<void> {
    for (let i = 0; i < messages.length; i += 10) {
      const entries = messages.slice(i, i + 10).map((message, index) => ({ Id: String(index), ReceiptHandle: message.ReceiptHandle! }));
      await options.sqs.send(new DeleteMessageBatchCommand({ QueueUrl: options.queueUrl, Entries: entries }));
    }
  }

  async function processBatch(messages: Message[]): Promise<void> {
    const started = Date.now();
    const records = messages.map(recordOf);
    let failedIds: Set<string>;
    try {
      const response = await options.handler({ Records: records });
      const identifiers = (response?.batchItemFailures ?? []).map((failure) => failure.itemIdentifier);
      const known = new Set(records.map((record) => record.messageId));
      // Lambda treats an unknown or empty identifier as the whole batch failing.
      failedIds = identifiers.every((id) => typeof id === "string" && known.has(id)) ? new Set(identifiers) : known;
    } catch (error) {
      options.log("error", "reducer invocation failed; the batch will be retried", { error: String(error), messages: messages.length });
      failedIds = new Set(records.map((record) => record.messageId));
    }
    await deleteMessages(messages.filter((message) => !failedIds.has(message.MessageId!)));
    options.onBatch?.({ messages: messages.length, failed: failedIds.size, ms: Date.now() - started });
  }

  async function worker(): Promise<void> {
    while (!isStopping) {
      try {
        const messages = await gather();
        if (messages.length > 0) await processBatch(messages);
      } catch (error) {
        if (isStopping) return;
        options.log("error", "event source poll failed", { error: String(error) });
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
    }
  }

  const workers = Array.from({ length: options.concurrency }, worker);
  return {
    async stop() {
      isStopping = true;
      abort.abort();
      await Promise.all(workers);
    },
  };
}
