/** SDK clients built once per process, pointed at AWS or at the sandbox's emulators. */
import type { ApiGatewayManagementApiClient } from "@aws-sdk/client-apigatewaymanagementapi";
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
    dynamodb: withoutLogging(new DynamoDBClient({ region: config.region, maxAttempts: 8, cacheMiddleware: true, sha256: Sha256, ...local(config.dynamodbEndpoint) })),
    sqs: withoutLogging(new SQSClient({ region: config.region, cacheMiddleware: true, sha256: Sha256, ...local(config.sqsEndpoint) })),
  };
}

/**
 * Without a logger the SDK still logs to its no-op logger, and first copies every request and
 * response with their sensitive members masked: 2.6 % of the sandbox's main thread in a fan-out
 * (a CPU profile of bench/fanout.ts's steady rounds). Nothing here gives the SDK a logger.
 */
export function withoutLogging<T extends DynamoDBClient | SQSClient | ApiGatewayManagementApiClient>(client: T): T {
  client.middlewareStack.remove("loggerMiddleware");
  return client;
}
