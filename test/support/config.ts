/** The configuration the composition root gets in tests: the test's own DynamoDB and SQS emulators, and whatever a test changes. */
import type { Config } from "../../functions/config.ts";

export function testConfig(emulators: { dynamodbEndpoint: string; tableName: string; sqsEndpoint: string; queueUrl: string }, overrides: Partial<Config> = {}): Config {
  return {
    region: "us-east-1",
    tableName: emulators.tableName,
    eventsQueueUrl: () => emulators.queueUrl,
    dynamodbEndpoint: emulators.dynamodbEndpoint,
    sqsEndpoint: emulators.sqsEndpoint,
    defaultTenant: "default",
    maxReceiveCount: 10,
    pendingUnknownJobSeconds: 180,
    publicUrl: "https://headway.test",
    websocketUrl: null,
    tokenSecret: () => "test-token-secret",
    // Nothing listens there: tests of the API never post to connections.
    websocketManagementEndpoint: () => "http://127.0.0.1:9",
    webhookQueueUrl: () => emulators.queueUrl,
    ...overrides,
  };
}
