/** An SQS emulator (fauxqs, in memory) with one queue, for tests. */
import { CreateQueueCommand, type SQSClient } from "@aws-sdk/client-sqs";
import { createSqsClient, startSqsEmulator } from "../../sandbox/emulators.ts";

export interface TestQueue {
  client: SQSClient;
  url: string;
  endpoint: string;
  close(): Promise<void>;
}

export async function startTestQueue(name = "events"): Promise<TestQueue> {
  const emulator = await startSqsEmulator({ port: 0 });
  const { endpoint } = emulator;
  const client = createSqsClient(endpoint);
  const { QueueUrl } = await client.send(new CreateQueueCommand({ QueueName: name }));
  return {
    client,
    url: QueueUrl!,
    endpoint,
    close: async () => {
      client.destroy();
      await emulator.close();
    },
  };
}
