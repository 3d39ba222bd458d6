/**
 * The change feed on DynamoDB: one marker per changed job under `pk = CHANGED#<shard>` (sk =
 * tenant and job id, with the incarnation and the version it announces), written by the reducer
 * after every batch it stored (all of a batch's jobs together, in BatchWriteItem requests of 25:
 * a 100-job batch announces in 4 requests, not 100, and a tick sees the batch's jobs at once) and
 * removed once pushed, so the ticker finds changed jobs by querying 8 small partitions, never by
 * scanning the table.
 */
import { DeleteItemCommand, type ConsumedCapacity, type DynamoDBClient } from "@aws-sdk/client-dynamodb";
import type { Announcement, ChangeFeed, ChangedJob } from "../../../core/ports.ts";
import { CHANGE_SHARDS, changeKey, changeShardKey, changeShardOf } from "./keys.ts";
import { itemBytes, type Item } from "./items.ts";
import { batchPutItems, queryPartition } from "./query.ts";


export function createDynamoChangeFeed(options: {
  client: DynamoDBClient;
  tableName: string;
  countWrite: (capacity: ConsumedCapacity | undefined, bytes: number) => void;
  metrics: { writeUnits: number };
}): ChangeFeed {
  const { client, tableName, countWrite, metrics } = options;
  return {
    async markChanged(changes: readonly Announcement[], nowMs: number): Promise<{ unannounced: Announcement[]; failure: unknown }> {
      // One marker per job (a request may not name a key twice): the latest version announced.
      const latest = new Map<string, Announcement>();
      for (const change of changes) {
        const key = changeKey(change.meta);
        if ((latest.get(key)?.version ?? -1) < change.version) latest.set(key, change);
      }
      const items = [...latest.values()].map(({ meta, version }): Item => ({
        pk: { S: changeShardOf(meta) },
        sk: { S: changeKey(meta) },
        tenant: { S: meta.tenant },
        job: { S: meta.jobId },
        inc: { S: meta.incarnation },
        created_at: { N: String(meta.createdAtMs) },
        version: { N: String(version) },
        changed_at: { N: String(nowMs) },
        expires_at: { N: String(Math.floor(nowMs / 1000) + 24 * 3600) },
      }));
      const { unwritten, failure } = await batchPutItems(client, tableName, items, {
        onWritten: (item) => countWrite(undefined, itemBytes(item)),
        onConsumed: (units) => (metrics.writeUnits += units),
      });
      const lost = new Set(unwritten.map((item) => item.sk!.S!));
      return { unannounced: changes.filter((change) => lost.has(changeKey(change.meta))), failure };
    },

    async changedJobs(): Promise<ChangedJob[]> {
      const shards = await Promise.all(Array.from({ length: CHANGE_SHARDS }, (_, shard) => queryPartition(client, tableName, changeShardKey(shard))));
      return shards.flat().map((item) => ({
        tenant: item.tenant!.S!,
        jobId: item.job!.S!,
        incarnation: item.inc!.S!,
        createdAtMs: Number(item.created_at!.N),
        version: Number(item.version!.N),
        changedAtMs: Number(item.changed_at!.N),
      }));
    },

    async clearChanged(job: ChangedJob, version: number): Promise<void> {
      try {
        await client.send(
          new DeleteItemCommand({
            TableName: tableName,
            Key: { pk: { S: changeShardOf(job) }, sk: { S: changeKey(job) } },
            // A newer change announced meanwhile (or a new job of the same id) stays for the next tick.
            ConditionExpression: "version <= :version AND inc = :inc",
            ExpressionAttributeValues: { ":version": { N: String(version) }, ":inc": { S: job.incarnation } },
          }),
        );
      } catch (error) {
        if ((error as Error).name !== "ConditionalCheckFailedException") throw error;
      }
    },
  };
}
