/**
 * Stands in for Lambda's SQS event source mapping (standard queue, ReportBatchItemFailures on, as
 * SST's `partialResponses: true` sets it):
 * - `concurrency` pollers each gather a batch: ReceiveMessage (≤ 10 per call, as SQS allows) until
 *   `batchSize` messages, the end of `batchingWindowMs` (timed from the first message), or about
 *   6 MB of payload (Lambda's invocation limit);
 * - invoke `handler` with a Lambda-shaped `SQSEvent`;
 * - delete every message not named in `batchItemFailures`. A thrown error, or a response Lambda
 *   rejects (batchItemFailures not an array, an `itemIdentifier` empty or not a messageId of the
 *   batch), fails the whole batch: nothing is deleted. Like Lambda, failed messages are left in
 *   flight until their visibility timeout expires (no ChangeMessageVisibility); then SQS delivers
 *   them again.
 * - The move to the DLQ after `maxReceiveCount` receives is the queue's RedrivePolicy: fauxqs
 *   applies it itself on receive (test/sqs-poller.int.test.ts checks it), so there is none here.
 * `stop()` lets every poller finish the batch it holds (handler and deletes), then polls no more.
 */
import { DeleteMessageBatchCommand, ReceiveMessageCommand, type Message, type MessageAttributeValue, type SQSClient } from "@aws-sdk/client-sqs";
import type { SQSBatchResponse, SQSEvent, SQSMessageAttributes, SQSRecord, SQSRecordAttributes } from "aws-lambda";

export interface SqsPollerOptions {
  sqs: SQSClient;
  queueUrl: string;
  queueArn: string;
  handler: (event: SQSEvent) => Promise<SQSBatchResponse | void>;
  /** Lambda allows 1–10,000 (default 10). */
  batchSize: number;
  /** Lambda allows 0–300,000 ms, and wants ≥ 1,000 when batchSize > 10. */
  batchingWindowMs: number;
  /** How long received messages stay invisible (ReceiveMessage's VisibilityTimeout). */
  visibilityTimeoutSeconds: number;
  /** Batches handled at once (Lambda's concurrent invocations). */
  concurrency: number;
  /** Called after each batch: how many messages it held and how many it gave back. */
  onBatch?: (stats: { messages: number; failed: number }) => void;
  /** Failed receives, failed batches (thrown or rejected response) and failed deletes. Default: console.error. */
  onError?: (error: unknown, context: { stage: "receive" | "handler" | "delete"; messageIds: string[] }) => void;
}

export interface SqsPoller {
  /** Finishes the batches in flight (handler and deletes), then stops polling. */
  stop(): Promise<void>;
}

/** Long-poll wait per ReceiveMessage: short, so that `stop()` never aborts a receive (an aborted
 * long poll can still take messages, which then stay invisible for a whole timeout). */
const POLL_WAIT_SECONDS = 1;
const MAX_PAYLOAD_BYTES = 6 * 1024 * 1024;
const ERROR_BACKOFF_MS = 1000;

export function startSqsPoller(options: SqsPollerOptions): SqsPoller {
  const { sqs, queueUrl, queueArn, batchSize } = options;
  const awsRegion = queueArn.split(":")[3] ?? "us-east-1";
  const onError = options.onError ?? ((error, { stage, messageIds }) => console.error(`sqs-poller: ${stage} failed`, messageIds, error));
  let stopping = false;
  const sleepers = new Set<() => void>(); // stop() cuts sleeps short
  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const done = () => (clearTimeout(timer), sleepers.delete(done), resolve());
      const timer = setTimeout(done, ms);
      sleepers.add(done);
    });

  const receive = async (max: number, waitSeconds: number): Promise<Message[]> => {
    const { Messages = [] } = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        MaxNumberOfMessages: max,
        WaitTimeSeconds: waitSeconds,
        VisibilityTimeout: options.visibilityTimeoutSeconds,
        MessageSystemAttributeNames: ["All"],
        MessageAttributeNames: ["All"],
      }),
    );
    return Messages;
  };

  /** One batch: waits for a first message, then fills up within the batching window. */
  async function gather(): Promise<Message[]> {
    const batch = await receive(Math.min(10, batchSize), POLL_WAIT_SECONDS);
    const deadline = Date.now() + options.batchingWindowMs;
    let bytes = 0;
    let largest = 1;
    const count = (messages: Message[]) => {
      for (const message of messages) {
        const size = Buffer.byteLength(message.Body ?? "") + 1024; // + receipt handle, attributes…
        bytes += size;
        largest = Math.max(largest, size);
      }
    };
    count(batch);
    while (batch.length > 0 && !stopping) {
      const left = deadline - Date.now();
      const max = Math.min(10, batchSize - batch.length, Math.floor((MAX_PAYLOAD_BYTES - bytes) / largest));
      if (left <= 0 || max < 1) break;
      const more = await receive(max, Math.min(POLL_WAIT_SECONDS, Math.floor(left / 1000)));
      if (more.length === 0 && left < 1000) await sleep(Math.min(20, left)); // WaitTimeSeconds is whole seconds
      batch.push(...more);
      count(more);
    }
    return batch;
  }

  const toRecord = (message: Message): SQSRecord => ({
    messageId: message.MessageId!,
    receiptHandle: message.ReceiptHandle!,
    body: message.Body ?? "",
    attributes: (message.Attributes ?? {}) as unknown as SQSRecordAttributes, // ApproximateReceiveCount, SentTimestamp, …
    messageAttributes: toLambdaAttributes(message.MessageAttributes ?? {}),
    md5OfBody: message.MD5OfBody!,
    ...(message.MD5OfMessageAttributes === undefined ? {} : { md5OfMessageAttributes: message.MD5OfMessageAttributes }),
    eventSource: "aws:sqs",
    eventSourceARN: queueArn,
    awsRegion,
  });

  /** The messageIds to keep; throws for a response Lambda treats as the whole batch failing. */
  const failedIds = (response: unknown, records: SQSRecord[]): Set<string> => {
    if (response === undefined || response === null) return new Set();
    if (typeof response !== "object") throw new Error(`handler returned a ${typeof response}, not a batch response`);
    const failures = (response as { batchItemFailures?: unknown }).batchItemFailures ?? [];
    if (!Array.isArray(failures)) throw new Error("batchItemFailures is not an array");
    const ids: unknown[] = failures.map((failure: { itemIdentifier?: unknown } | null) => failure?.itemIdentifier);
    const known = new Set(records.map((record) => record.messageId));
    const bad = ids.filter((id) => typeof id !== "string" || !known.has(id));
    if (bad.length > 0) throw new Error(`batchItemFailures names ${JSON.stringify(bad)}: not messageIds of this batch`);
    return new Set(ids as string[]);
  };

  async function handle(records: SQSRecord[]): Promise<void> {
    let keep: Set<string>;
    try {
      keep = failedIds(await options.handler({ Records: records }), records);
    } catch (error) {
      options.onBatch?.({ messages: records.length, failed: records.length });
      return onError(error, { stage: "handler", messageIds: records.map((record) => record.messageId) }); // all come back later
    }
    options.onBatch?.({ messages: records.length, failed: keep.size });
    const done = records.filter((record) => !keep.has(record.messageId));
    for (let i = 0; i < done.length; i += 10) {
      const chunk = done.slice(i, i + 10);
      try {
        const entries = chunk.map((record, n) => ({ Id: String(n), ReceiptHandle: record.receiptHandle }));
        const { Failed = [] } = await sqs.send(new DeleteMessageBatchCommand({ QueueUrl: queueUrl, Entries: entries }));
        if (Failed.length > 0) {
          const messageIds = Failed.map((failure) => chunk[Number(failure.Id)]?.messageId ?? "?");
          onError(new Error(`DeleteMessageBatch: ${Failed.map((failure) => failure.Message ?? failure.Code).join("; ")}`), { stage: "delete", messageIds });
        }
      } catch (error) {
        onError(error, { stage: "delete", messageIds: chunk.map((record) => record.messageId) });
      }
    }
  }

  async function poll(): Promise<void> {
    while (!stopping) {
      try {
        const messages = await gather(); // if a receive fails, what was gathered comes back later
        if (messages.length > 0) await handle(messages.map(toRecord));
      } catch (error) {
        if (!stopping) onError(error, { stage: "receive", messageIds: [] });
        await sleep(ERROR_BACKOFF_MS);
      }
    }
  }

  const pollers = Array.from({ length: Math.max(1, options.concurrency) }, poll);
  return {
    async stop() {
      stopping = true;
      for (const done of sleepers) done();
      await Promise.all(pollers);
    },
  };
}

/** SDK message attributes (binary as bytes) in the Lambda record's shape (binary as base64). */
function toLambdaAttributes(attributes: Record<string, MessageAttributeValue>): SQSMessageAttributes {
  const base64 = (bytes: Uint8Array) => Buffer.from(bytes).toString("base64");
  const entries = Object.entries(attributes).map(([name, value]) => {
    const { StringValue, BinaryValue, StringListValues = [], BinaryListValues = [], DataType = "String" } = value;
    const scalar = { ...(StringValue === undefined ? {} : { stringValue: StringValue }), ...(BinaryValue === undefined ? {} : { binaryValue: base64(BinaryValue) }) };
    return [name, { ...scalar, stringListValues: StringListValues, binaryListValues: BinaryListValues.map(base64), dataType: DataType }];
  });
  return Object.fromEntries(entries) as SQSMessageAttributes;
}
