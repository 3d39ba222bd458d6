/**
 * A lease on DynamoDB (`pk = LEASE#<name>`): one holder at a time, taken over only once it
 * lapses. Overlapping ticker runs use it so that exactly one of them ticks.
 */
import { DeleteItemCommand, PutItemCommand, type DynamoDBClient } from "@aws-sdk/client-dynamodb";
import type { Lease } from "../../../core/ports.ts";
import { leaseKey } from "./keys.ts";

export function createDynamoLease(options: { client: DynamoDBClient; tableName: string; name: string; now: () => number }): Lease {
  const { client, tableName } = options;
  const { now } = options;
  const { pk, sk } = leaseKey(options.name);
  const key = { pk: { S: pk }, sk: { S: sk } };
  return {
    async acquire(owner, forMs) {
      const at = now();
      try {
        await client.send(
          new PutItemCommand({
            TableName: tableName,
            Item: { ...key, owner: { S: owner }, until: { N: String(at + forMs) }, expires_at: { N: String(Math.floor((at + forMs) / 1000) + 3600) } },
            ConditionExpression: "attribute_not_exists(pk) OR #until < :now OR #owner = :owner",
            ExpressionAttributeNames: { "#until": "until", "#owner": "owner" },
            ExpressionAttributeValues: { ":now": { N: String(at) }, ":owner": { S: owner } },
          }),
        );
        return true;
      } catch (error) {
        if ((error as Error).name === "ConditionalCheckFailedException") return false;
        throw error;
      }
    },
    async release(owner) {
      await client
        .send(new DeleteItemCommand({ TableName: tableName, Key: key, ConditionExpression: "#owner = :owner", ExpressionAttributeNames: { "#owner": "owner" }, ExpressionAttributeValues: { ":owner": { S: owner } } }))
        .catch((error: unknown) => {
          if ((error as Error).name !== "ConditionalCheckFailedException") throw error;
        });
    },
  };
}
