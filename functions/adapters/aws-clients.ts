/** SDK clients built once per process, pointed at AWS or at the sandbox's emulators. */
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { SQSClient } from "@aws-sdk/client-sqs";

export interface ClientConfig {
  region: string;
  dynamodbEndpoint?: string | undefined;
  sqsEndpoint?: string | undefined;
}

/** Emulators accept any credentials; the SDK still wants some. */
const EMULATOR_CREDENTIALS = { accessKeyId: "headway", secretAccessKey: "headway" };

export function createAwsClients(config: ClientConfig): { dynamodb: DynamoDBClient; sqs: SQSClient } {
  const local = (endpoint: string | undefined) => (endpoint === undefined ? {} : { endpoint, credentials: EMULATOR_CREDENTIALS });
  return {
    dynamodb: new DynamoDBClient({ region: config.region, maxAttempts: 8, ...local(config.dynamodbEndpoint) }),
    sqs: new SQSClient({ region: config.region, ...local(config.sqsEndpoint) }),
  };
}
