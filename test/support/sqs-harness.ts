/**
 * A stand-in for Lambda's SQS event source mapping in tests of the reducer's logic: it delivers
 * messages in random batches and orders, sometimes twice, runs several batches at once, and puts
 * back what the handler reports as failed (as the visibility timeout would). Seeded.
 * The sandbox's real poller over fauxqs is tested separately.
 */
import type { SQSBatchResponse, SQSEvent, SQSRecord } from "aws-lambda";
import { seededRandom } from "./seeded-random.ts";

export { seededRandom };

export interface Delivery {
  body: string;
  messageId: string;
  receives: number;
  sentMs: number;
}

export function recordOf(delivery: Delivery): SQSRecord {
  return {
    messageId: delivery.messageId,
    receiptHandle: `rh-${delivery.messageId}-${delivery.receives}`,
    body: delivery.body,
    attributes: {
      ApproximateReceiveCount: String(delivery.receives),
      SentTimestamp: String(delivery.sentMs),
      SenderId: "test",
      ApproximateFirstReceiveTimestamp: String(delivery.sentMs),
    },
    messageAttributes: {},
    md5OfBody: "",
    eventSource: "aws:sqs",
    eventSourceARN: "arn:aws:sqs:us-east-1:000000000000:events",
    awsRegion: "us-east-1",
  };
}

export interface DrainOptions {
  seed: number;
  batchSize: number;
  concurrency: number;
  duplicateRate: number;
  maxRounds?: number;
  now?: () => number;
}

/** Delivers every body until none is left; returns how many deliveries the handler failed. */
export async function drain(handler: (event: SQSEvent) => Promise<SQSBatchResponse>, bodies: string[], options: DrainOptions): Promise<{ failures: number; rounds: number }> {
  const random = seededRandom(options.seed);
  const now = options.now ?? Date.now;
  let queue: Delivery[] = bodies.map((body, index) => ({ body, messageId: `m${index}`, receives: 0, sentMs: now() }));
  let failures = 0;
  let rounds = 0;
  while (queue.length > 0) {
    if (++rounds > (options.maxRounds ?? 500)) throw new Error(`queue not drained: ${queue.length} messages left`);
    queue.sort(() => random() - 0.5);
    const batches: Delivery[][] = [];
    for (let c = 0; c < options.concurrency && queue.length > 0; c++) {
      const batch = queue.splice(0, 1 + Math.floor(random() * options.batchSize));
      for (const delivery of [...batch]) if (random() < options.duplicateRate) batch.push({ ...delivery });
      batches.push(batch);
    }
    const results = await Promise.all(
      batches.map(async (batch) => {
        for (const delivery of batch) delivery.receives++;
        const response = await handler({ Records: batch.map(recordOf) });
        const failedIds = new Set(response.batchItemFailures.map((failure) => failure.itemIdentifier));
        return batch.filter((delivery) => failedIds.has(delivery.messageId));
      }),
    );
    for (const failed of results) {
      failures += failed.length;
      queue.push(...failed);
    }
  }
  return { failures, rounds };
}
