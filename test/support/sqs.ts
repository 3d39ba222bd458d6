/** An SQS emulator (fauxqs, in memory) with one queue, for tests. */
import { CreateQueueCommand, SQSClient } from "@aws-sdk/client-sqs";
import { startFauxqs } from "fauxqs";

export interface TestQueue {
  client: SQSClient;
  url: string;
  endpoint: string;
  close(): Promise<void>;
}

export async function startTestQueue(name = "events"): Promise<TestQueue> {
  const server = await startFauxqs({ port: 0, logger: false });
  const endpoint = `http://127.0.0.1:${server.port}`;
  const client = new SQSClient({ region: "us-east-1", endpoint, credentials: { accessKeyId: "test", secretAccessKey: "test" } });
  const { QueueUrl } = await client.send(new CreateQueueCommand({ QueueName: name }));
  return {
    client,
    url: QueueUrl!,
    endpoint,
    close: async () => {
      client.destroy();
      await server.stop();
    },
  };
}
