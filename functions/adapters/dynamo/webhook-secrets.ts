/**
 * Each tenant's webhook signing secrets on DynamoDB, one small item per tenant:
 *   TENANT#<tenant> / WHSECRETS   {secrets: JSON [{secret, createdAtMs, expiresAtMs}], revision}
 * The first secret is made on first use; writes are conditional on the revision read, so two
 * first uses or two rotations at once settle on one outcome. Read on every delivery, uncached, so
 * a rotation signs with both secrets from the next delivery on and an expired secret never signs.
 */
import { ConditionalCheckFailedException, GetItemCommand, PutItemCommand, type DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { randomBytes } from "node:crypto";
import type { WebhookSecret } from "../../../core/delivery/webhooks.ts";
import type { WebhookSecrets } from "../../../core/ports.ts";
import { formatSecret, rotateSecrets, validSecrets } from "../../../core/delivery/webhooks.ts";
import { tenantKey, WEBHOOK_SECRETS_SK } from "./keys.ts";

const ATTEMPTS = 5;

export function createDynamoWebhookSecrets(options: {
  client: DynamoDBClient;
  tableName: string;
  now: () => number;
  newSecret?: () => string;
  /** Hears of each secret made on first use (the composition root audits it, as every change of a secret is). */
  onSecretMade?: (tenant: string) => Promise<void>;
}): WebhookSecrets {
  const { client, tableName } = options;
  const { now } = options;
  const newSecret = options.newSecret ?? (() => formatSecret(randomBytes(24)));
  const key = (tenant: string) => ({ pk: { S: tenantKey(tenant) }, sk: { S: WEBHOOK_SECRETS_SK } });

  async function read(tenant: string): Promise<{ secrets: WebhookSecret[]; revision: number } | null> {
    const { Item } = await client.send(new GetItemCommand({ TableName: tableName, Key: key(tenant), ConsistentRead: true }));
    if (Item === undefined) return null;
    return { secrets: JSON.parse(Item.secrets!.S!) as WebhookSecret[], revision: Number(Item.revision!.N) };
  }

  /** Writes `secrets` if the item is still at `revision` (0: absent); false when another writer came first. */
  async function write(tenant: string, secrets: WebhookSecret[], revision: number): Promise<boolean> {
    try {
      await client.send(
        new PutItemCommand({
          TableName: tableName,
          Item: { ...key(tenant), secrets: { S: JSON.stringify(secrets) }, revision: { N: String(revision + 1) } },
          ...(revision === 0
            ? { ConditionExpression: "attribute_not_exists(pk)" }
            : { ConditionExpression: "revision = :revision", ExpressionAttributeValues: { ":revision": { N: String(revision) } } }),
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException || (error as Error).name === "ConditionalCheckFailedException") return false;
      throw error;
    }
  }

  /** Reads the tenant's secrets, makes the first, or rotates, retrying a lost race a few times; `isWritten` when this call changed them. */
  async function update(tenant: string, change: (current: WebhookSecret[], nowMs: number) => WebhookSecret[] | null): Promise<{ secrets: WebhookSecret[]; isWritten: boolean }> {
    for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
      const stored = await read(tenant);
      const nowMs = now();
      const next = change(stored === null ? [] : validSecrets(stored.secrets, nowMs), nowMs);
      if (next === null) return { secrets: validSecrets(stored!.secrets, nowMs), isWritten: false };
      if (await write(tenant, next, stored?.revision ?? 0)) return { secrets: validSecrets(next, nowMs), isWritten: true };
    }
    throw new Error(`webhook secrets of tenant ${tenant}: ${ATTEMPTS} writes lost to concurrent ones`);
  }

  return {
    async secretsOf(tenant) {
      const { secrets, isWritten } = await update(tenant, (current, nowMs) => {
        if (current.length > 0) return null;
        // None yet, or (after a zero overlap and a clock jump) none valid: a first secret.
        return [{ secret: newSecret(), createdAtMs: nowMs, expiresAtMs: null }];
      });
      if (isWritten) await options.onSecretMade?.(tenant);
      return secrets;
    },
    rotate: async (tenant, overlapMs) => (await update(tenant, (current, nowMs) => rotateSecrets(current, newSecret(), nowMs, overlapMs))).secrets,
  };
}
