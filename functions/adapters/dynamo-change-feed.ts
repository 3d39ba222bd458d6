/**
 * The change feed on DynamoDB: one marker per changed job under `pk = CHANGED#<shard>` (sk = job
 * id, with the version it announces), written after the job's items and removed once emitted, so
 * the ticker finds changed jobs by querying 8 small partitions, never by scanning the table.
 */
import { DeleteItemCommand, PutItemCommand, QueryCommand, type ConsumedCapacity, type DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { hashId } from "../../core/partition.ts";
import type { ChangedJob } from "../../core/ports.ts";
import { itemBytes, type Item } from "./dynamo-items.ts";

const CHANGE_SHARDS = 8;

const shardKey = (jobId: string) => `CHANGED#${hashId(jobId) % CHANGE_SHARDS}`;

export function createDynamoChangeFeed(options: {
  client: DynamoDBClient;
  tableName: string;
  countWrite: (capacity: ConsumedCapacity | undefined, bytes: number) => void;
}) {
  const { client, tableName, countWrite } = options;
  return {
    async markChanged(jobId: string, version: number, nowMs: number): Promise<void> {
      const item: Item = {
        pk: { S: shardKey(jobId) },
        sk: { S: jobId },
        version: { N: String(version) },
        changed_at: { N: String(nowMs) },
        expires_at: { N: String(Math.floor(nowMs / 1000) + 24 * 3600) },
      };
      const result = await client.send(new PutItemCommand({ TableName: tableName, Item: item, ReturnConsumedCapacity: "TOTAL" }));
      countWrite(result.ConsumedCapacity, itemBytes(item));
    },

    async changedJobs(): Promise<ChangedJob[]> {
      const changed: ChangedJob[] = [];
      for (let shard = 0; shard < CHANGE_SHARDS; shard++) {
        let start: Item | undefined;
        do {
          const result = await client.send(
            new QueryCommand({ TableName: tableName, KeyConditionExpression: "pk = :pk", ExpressionAttributeValues: { ":pk": { S: `CHANGED#${shard}` } }, ExclusiveStartKey: start }),
          );
          for (const item of result.Items ?? []) changed.push({ jobId: item.sk!.S!, version: Number(item.version!.N), changedAtMs: Number(item.changed_at?.N ?? 0) });
          start = result.LastEvaluatedKey;
        } while (start !== undefined);
      }
      return changed;
    },

    async clearChanged(jobId: string, version: number): Promise<void> {
      try {
        await client.send(
          new DeleteItemCommand({
            TableName: tableName,
            Key: { pk: { S: shardKey(jobId) }, sk: { S: jobId } },
            // A newer change announced meanwhile stays for the next tick.
            ConditionExpression: "version <= :version",
            ExpressionAttributeValues: { ":version": { N: String(version) } },
          }),
        );
      } catch (error) {
        if ((error as Error).name !== "ConditionalCheckFailedException") throw error;
      }
    },
  };
}
