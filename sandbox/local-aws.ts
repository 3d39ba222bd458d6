/**
 * The sandbox's stand-ins for AWS, in-process on loopback: dynalite for DynamoDB (LevelDB on
 * disk, or memory) and fauxqs for SQS (SQLite on disk, or memory). Both speak the real wire
 * protocols, so the product's adapters use the real AWS SDK clients against them.
 */
import { CreateQueueCommand, GetQueueAttributesCommand, type SQSClient } from "@aws-sdk/client-sqs";
import dynalite from "dynalite";
import { startFauxqs } from "fauxqs";
import { mkdirSync } from "node:fs";
import type { AddressInfo } from "node:net";

export interface Emulator {
  endpoint: string;
  close(): Promise<void>;
}

export async function startDynamoDbEmulator(options: { port: number; dataDir?: string | undefined }): Promise<Emulator> {
  if (options.dataDir !== undefined) mkdirSync(options.dataDir, { recursive: true });
  const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0, ...(options.dataDir === undefined ? {} : { path: options.dataDir }) });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, "127.0.0.1", () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

export async function startSqsEmulator(options: { port: number; dataDir?: string | undefined }): Promise<Emulator> {
  if (options.dataDir !== undefined) mkdirSync(options.dataDir, { recursive: true });
  const server = await startFauxqs({ port: options.port, logger: false, ...(options.dataDir === undefined ? {} : { dataDir: options.dataDir }) });
  return { endpoint: `http://127.0.0.1:${server.port}`, close: () => server.stop() };
}

export interface QueueWithDlq {
  url: string;
  arn: string;
  dlqUrl: string;
}

/** A queue whose messages move to `<name>-dlq` after `maxReceiveCount` receives (idempotent). */
export async function ensureQueueWithDlq(
  sqs: SQSClient,
  name: string,
  options: { visibilityTimeoutSeconds: number; maxReceiveCount: number },
): Promise<QueueWithDlq> {
  const arnOf = async (url: string) =>
    (await sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ["QueueArn"] }))).Attributes!.QueueArn!;
  const dlqUrl = (await sqs.send(new CreateQueueCommand({ QueueName: `${name}-dlq`, Attributes: { MessageRetentionPeriod: "1209600" } }))).QueueUrl!;
  const { QueueUrl } = await sqs.send(
    new CreateQueueCommand({
      QueueName: name,
      Attributes: {
        VisibilityTimeout: String(options.visibilityTimeoutSeconds),
        RedrivePolicy: JSON.stringify({ deadLetterTargetArn: await arnOf(dlqUrl), maxReceiveCount: options.maxReceiveCount }),
      },
    }),
  );
  return { url: QueueUrl!, arn: await arnOf(QueueUrl!), dlqUrl };
}
