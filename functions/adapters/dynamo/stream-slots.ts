/**
 * Stream slots on DynamoDB: under `pk = SLOTS#<key>`, one item per holder with the time its lease
 * runs out. Taking a slot counts the live ones (one query) and adds one; two holders that count
 * at the same moment may both get in, so a limit can be passed by the streams that start within
 * the same few milliseconds (documented as approximate). Lapsed items are ignored, then deleted
 * by TTL.
 */
import { BatchWriteItemCommand, PutItemCommand, type DynamoDBClient } from "@aws-sdk/client-dynamodb";
import type { StreamSlots } from "../../../core/ports.ts";
import { queryPartition } from "./query.ts";
import { streamSlotsKey } from "./keys.ts";

export function createDynamoStreamSlots(options: { client: DynamoDBClient; tableName: string; now: () => number }): StreamSlots {
  const { client, tableName } = options;
  const { now } = options;
  const pk = streamSlotsKey;

  async function put(holder: string, key: string, forMs: number): Promise<void> {
    const until = now() + forMs;
    await client.send(
      new PutItemCommand({ TableName: tableName, Item: { pk: { S: pk(key) }, sk: { S: holder }, until: { N: String(until) }, expires_at: { N: String(Math.ceil(until / 1000) + 3600) } } }),
    );
  }

  async function release(holder: string, keys: readonly string[]): Promise<void> {
    if (keys.length === 0) return;
    await client.send(new BatchWriteItemCommand({ RequestItems: { [tableName]: keys.map((key) => ({ DeleteRequest: { Key: { pk: { S: pk(key) }, sk: { S: holder } } } })) } }));
  }

  return {
    async acquire(holder, keys, forMs) {
      const taken: string[] = [];
      for (const { key, limit } of keys) {
        const items = await queryPartition(client, tableName, pk(key), { consistent: true, attributes: ["sk", "until"] });
        const live = items.filter((item) => item.sk!.S !== holder && Number(item.until!.N) > now()).length;
        if (live >= limit) {
          await release(holder, taken);
          return key;
        }
        await put(holder, key, forMs);
        taken.push(key);
      }
      return null;
    },
    async renew(holder, keys, forMs) {
      for (const key of keys) await put(holder, key, forMs);
    },
    release,
  };
}
