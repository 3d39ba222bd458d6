/**
 * The webhook delivery log and once-only claims, in the job's partition (its incarnation):
 *   <job> / WHCLAIM#<key>                 a webhook that was enqueued (recorded after it was; no
 *                                         expiry of its own: it lives as long as its job, so a job
 *                                         active past 30 days never sends a milestone twice)
 *   <job> / WHLOG#<time>#<id>#<attempt>   one attempt and its outcome (kept 30 days)
 */
import { PutItemCommand, QueryCommand, type AttributeValue, type DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { jobKey, WEBHOOK_CLAIM_PREFIX, WEBHOOK_LOG_PREFIX, webhookClaimKey, webhookLogKey } from "./keys.ts";
import { batchGetItems } from "./query.ts";
import type { DeliveryLogEntry, WebhookLog } from "../../../core/ports.ts";

const LOG_TTL_SECONDS = 30 * 24 * 3600;

export function createDynamoWebhookLog(options: { client: DynamoDBClient; tableName: string; now: () => number }): WebhookLog {
  const { client, tableName } = options;
  const { now } = options;
  const expiresAt = (): AttributeValue => ({ N: String(Math.floor(now() / 1000) + LOG_TTL_SECONDS) });
  return {
    async enqueued(job, keys) {
      const items = await batchGetItems(client, tableName, keys.map((key) => ({ pk: { S: jobKey(job) }, sk: { S: webhookClaimKey(key) } })), { consistent: true, projection: "sk" });
      return new Set(items.map((item) => item.sk!.S!.slice(WEBHOOK_CLAIM_PREFIX.length)));
    },
    async markEnqueued(job, keys) {
      for (const key of keys) {
        await client.send(new PutItemCommand({ TableName: tableName, Item: { pk: { S: jobKey(job) }, sk: { S: webhookClaimKey(key) }, at: { N: String(now()) } } }));
      }
    },
    async record(entry) {
      await client.send(
        new PutItemCommand({
          TableName: tableName,
          Item: {
            pk: { S: jobKey(entry) },
            sk: { S: webhookLogKey(entry.atMs, entry.webhookId, entry.attempt) },
            entry: { S: JSON.stringify(entry) },
            expires_at: expiresAt(),
          },
        }),
      );
    },
    async list(job, limit) {
      const result = await client.send(
        new QueryCommand({
          TableName: tableName,
          KeyConditionExpression: "pk = :pk AND begins_with(sk, :prefix)",
          ExpressionAttributeValues: { ":pk": { S: jobKey(job) }, ":prefix": { S: WEBHOOK_LOG_PREFIX } },
          ScanIndexForward: false,
          Limit: limit,
        }),
      );
      return (result.Items ?? []).map((item) => JSON.parse(item.entry!.S!) as DeliveryLogEntry);
    },
  };
}
