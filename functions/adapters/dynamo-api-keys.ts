/**
 * API keys on DynamoDB: stored as SHA-256 hashes (`pk = KEY#<hex>`), never in clear, each scoped
 * to a tenant. Lookups are cached for a minute per process: a revoked key stops working within it.
 */
import { GetItemCommand, PutItemCommand, type DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { createHash } from "node:crypto";
import type { ApiKeyStore } from "../../core/ports.ts";

const CACHE_MS = 60_000;

export function hashApiKey(apiKey: string): string {
  return createHash("sha256").update(apiKey).digest("hex");
}

export function createDynamoApiKeys(options: { client: DynamoDBClient; tableName: string; now?: () => number }): ApiKeyStore {
  const { client, tableName } = options;
  const now = options.now ?? Date.now;
  const cache = new Map<string, { tenant: string | null; untilMs: number }>();
  return {
    async tenantOf(apiKey) {
      const hash = hashApiKey(apiKey);
      const cached = cache.get(hash);
      if (cached !== undefined && cached.untilMs > now()) return cached.tenant;
      const result = await client.send(new GetItemCommand({ TableName: tableName, Key: { pk: { S: `KEY#${hash}` }, sk: { S: "KEY" } } }));
      const tenant = result.Item?.tenant?.S ?? null;
      cache.set(hash, { tenant, untilMs: now() + CACHE_MS });
      return tenant;
    },
    async putKey(apiKey, tenant, name) {
      await client.send(
        new PutItemCommand({
          TableName: tableName,
          Item: { pk: { S: `KEY#${hashApiKey(apiKey)}` }, sk: { S: "KEY" }, tenant: { S: tenant }, name: { S: name }, created_at: { N: String(now()) } },
        }),
      );
      cache.delete(hashApiKey(apiKey));
    },
  };
}
