/**
 * The webhook delivery log and once-only claims, in the job's partition:
 *   JOB#<job> / WHCLAIM#<key>                 a webhook that was enqueued (so it is enqueued once)
 *   JOB#<job> / WHLOG#<time>#<id>#<attempt>   one attempt and its outcome (kept 30 days)
 */
import { DeleteItemCommand, PutItemCommand, QueryCommand, type AttributeValue, type DynamoDBClient } from "@aws-sdk/client-dynamodb";
import type { DeliveryLogEntry, WebhookLog } from "../../core/ports.ts";

const LOG_TTL_SECONDS = 30 * 24 * 3600;

export function createDynamoWebhookLog(options: { client: DynamoDBClient; tableName: string; now?: () => number }): WebhookLog {
  const { client, tableName } = options;
  const now = options.now ?? Date.now;
  const expiresAt = (): AttributeValue => ({ N: String(Math.floor(now() / 1000) + LOG_TTL_SECONDS) });
  return {
    async claim(jobId, key) {
      try {
        await client.send(
          new PutItemCommand({
            TableName: tableName,
            Item: { pk: { S: `JOB#${jobId}` }, sk: { S: `WHCLAIM#${key}` }, at: { N: String(now()) }, expires_at: expiresAt() },
            ConditionExpression: "attribute_not_exists(pk)",
          }),
        );
        return true;
      } catch (error) {
        if ((error as Error).name === "ConditionalCheckFailedException") return false;
        throw error;
      }
    },
    async release(jobId, key) {
      await client.send(new DeleteItemCommand({ TableName: tableName, Key: { pk: { S: `JOB#${jobId}` }, sk: { S: `WHCLAIM#${key}` } } }));
    },
    async record(entry) {
      await client.send(
        new PutItemCommand({
          TableName: tableName,
          Item: {
            pk: { S: `JOB#${entry.jobId}` },
            sk: { S: `WHLOG#${String(entry.atMs).padStart(15, "0")}#${entry.webhookId}#${entry.attempt}` },
            entry: { S: JSON.stringify(entry) },
            expires_at: expiresAt(),
          },
        }),
      );
    },
    async list(jobId, limit) {
      const result = await client.send(
        new QueryCommand({
          TableName: tableName,
          KeyConditionExpression: "pk = :pk AND begins_with(sk, :prefix)",
          ExpressionAttributeValues: { ":pk": { S: `JOB#${jobId}` }, ":prefix": { S: "WHLOG#" } },
          ScanIndexForward: false,
          Limit: limit,
        }),
      );
      return (result.Items ?? []).map((item) => JSON.parse(item.entry!.S!) as DeliveryLogEntry);
    },
  };
}
