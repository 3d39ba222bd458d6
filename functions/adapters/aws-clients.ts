/** SDK clients built once per process, pointed at AWS or at the sandbox's emulators. */
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { SQSClient } from "@aws-sdk/client-sqs";
import { Sha256 } from "./sha256.ts";

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
    // cacheMiddleware: resolve each command type's middleware stack once, not on every request;
    // sha256: signatures with key objects made once (sha256.ts).
    dynamodb: new DynamoDBClient({ region: config.region, maxAttempts: 8, cacheMiddleware: true, sha256: Sha256, ...local(config.dynamodbEndpoint) }),
    sqs: new SQSClient({ region: config.region, cacheMiddleware: true, sha256: Sha256, ...local(config.sqsEndpoint) }),
  };
}
