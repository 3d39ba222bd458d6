/**
 * Webhook endpoints that answered 410 Gone, per tenant, on DynamoDB:
 *   TENANT#<tenant> / WHGONE#<sha256 of the URL>   {url, gone_at, expires_at (TTL)}
 * An endpoint counts as gone for `ENDPOINT_GONE_FOR_MS` (checked here: TTL deletion can lag by days)
 * or until the tenant registers the URL again.
 */
import { DeleteItemCommand, GetItemCommand, PutItemCommand, type DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { createHash } from "node:crypto";
import type { WebhookEndpoints } from "../../../core/ports.ts";
import { ENDPOINT_GONE_FOR_MS } from "../../../core/delivery/webhooks.ts";
import { goneEndpointKey, tenantKey } from "./keys.ts";

export function createDynamoWebhookEndpoints(options: { client: DynamoDBClient; tableName: string; now: () => number }): WebhookEndpoints {
  const { client, tableName } = options;
  const { now } = options;
  const key = (tenant: string, url: string) => ({ pk: { S: tenantKey(tenant) }, sk: { S: goneEndpointKey(createHash("sha256").update(url).digest("hex")) } });
  return {
    async goneSince(tenant, url) {
      const { Item } = await client.send(new GetItemCommand({ TableName: tableName, Key: key(tenant, url) }));
      const goneAtMs = Item?.gone_at?.N === undefined ? null : Number(Item.gone_at.N);
      return goneAtMs !== null && now() < goneAtMs + ENDPOINT_GONE_FOR_MS ? goneAtMs : null;
    },
    async markGone(tenant, url, atMs) {
      const expiresAt = Math.ceil((atMs + ENDPOINT_GONE_FOR_MS) / 1000);
      await client.send(
        new PutItemCommand({ TableName: tableName, Item: { ...key(tenant, url), url: { S: url }, gone_at: { N: String(atMs) }, expires_at: { N: String(expiresAt) } } }),
      );
    },
    async revive(tenant, url) {
      await client.send(new DeleteItemCommand({ TableName: tableName, Key: key(tenant, url) }));
    },
  };
}
