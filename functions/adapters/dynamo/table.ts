/**
 * The table's shape, in one place: what infra/storage.ts declares in the cloud and what the
 * sandbox and the tests create on the emulators.
 */
import {
  CreateTableCommand,
  DescribeTableCommand,
  ResourceInUseException,
  UpdateTimeToLiveCommand,
  type DynamoDBClient,
} from "@aws-sdk/client-dynamodb";

export const TABLE_SHAPE = {
  partitionKey: "pk",
  sortKey: "sk",
  ttlAttribute: "expires_at",
} as const;

export async function ensureTable(client: DynamoDBClient, tableName: string): Promise<void> {
  try {
    await client.send(
      new CreateTableCommand({
        TableName: tableName,
        BillingMode: "PAY_PER_REQUEST",
        AttributeDefinitions: [
          { AttributeName: TABLE_SHAPE.partitionKey, AttributeType: "S" },
          { AttributeName: TABLE_SHAPE.sortKey, AttributeType: "S" },
        ],
        KeySchema: [
          { AttributeName: TABLE_SHAPE.partitionKey, KeyType: "HASH" },
          { AttributeName: TABLE_SHAPE.sortKey, KeyType: "RANGE" },
        ],
      }),
    );
  } catch (error) {
    if (!(error instanceof ResourceInUseException) && (error as Error).name !== "ResourceInUseException") throw error;
  }
  for (let i = 0; i < 100; i++) {
    const { Table } = await client.send(new DescribeTableCommand({ TableName: tableName }));
    if (Table?.TableStatus === "ACTIVE") break;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  try {
    await client.send(
      new UpdateTimeToLiveCommand({ TableName: tableName, TimeToLiveSpecification: { AttributeName: TABLE_SHAPE.ttlAttribute, Enabled: true } }),
    );
  } catch (error) {
    // dynalite has no TTL (nothing expires in the sandbox); DynamoDB Local answers that it is already on.
    const name = (error as Error).name;
    if (name !== "UnknownOperationException" && name !== "ValidationException") throw error;
  }
}
