/**
 * The rejection log on DynamoDB: a rejected input is an item `REJ#<time>#<source>` under its job
 * (its incarnation: `GET /v1/jobs/{id}/rejections`) or, when no job took it (the job never
 * appeared, or the input named none), under its tenant (`GET /v1/rejections`); kept 30 days.
 */
import {
  BatchWriteItemCommand,
  QueryCommand,
  type BatchWriteItemCommandOutput,
  type ConsumedCapacity,
  type DynamoDBClient,
  type WriteRequest,
} from "@aws-sdk/client-dynamodb";
import type { RejectionLog, RejectionRecord } from "../../core/ports.ts";
import { itemBytes, jobKey, runBounded, sleep, tenantKey, type Item } from "./dynamo-items.ts";

const REJECTION_TTL_SECONDS = 30 * 24 * 3600;
const WRITE_CONCURRENCY = 16;

export function createDynamoRejectionLog(options: {
  client: DynamoDBClient;
  tableName: string;
  countWrite: (capacity: ConsumedCapacity | undefined, bytes: number, sk?: string) => void;
  metrics: { writeUnits: number };
}): RejectionLog {
  const { client, tableName, countWrite, metrics } = options;
  const partitionOf = (tenant: string, jobId: string | null, incarnation: string | null) =>
    jobId === null || incarnation === null ? tenantKey(tenant) : jobKey({ tenant, jobId, incarnation, createdAtMs: 0 });
  return {
    async record(records: readonly RejectionRecord[]): Promise<void> {
      // In writes of 25 (BatchWriteItem): one producer past a limit can be refused thousands of
      // events in one batch, each kept for /rejections.
      const items: Item[] = records.map((record) => ({
        pk: { S: partitionOf(record.tenant, record.jobId, record.incarnation) },
        sk: { S: `REJ#${String(record.atMs).padStart(15, "0")}#${record.source}` },
        ...(record.jobId === null ? {} : { job: { S: record.jobId } }),
        code: { S: record.code },
        reason: { S: record.reason.slice(0, 2000) },
        source: { S: record.source },
        excerpt: { S: record.excerpt.slice(0, 1000) },
        at: { N: String(record.atMs) },
        expires_at: { N: String(Math.floor(record.atMs / 1000) + REJECTION_TTL_SECONDS) },
      }));
      const chunks: Item[][] = [];
      for (let i = 0; i < items.length; i += 25) chunks.push(items.slice(i, i + 25));
      await runBounded(
        chunks.map((chunk) => async () => {
          let pending: WriteRequest[] | undefined = chunk.map((item) => ({ PutRequest: { Item: item } }));
          for (let attempt = 0; pending !== undefined && pending.length > 0; attempt++) {
            if (attempt > 0) await sleep(Math.min(1000, 25 * 2 ** attempt));
            const result: BatchWriteItemCommandOutput = await client.send(new BatchWriteItemCommand({ RequestItems: { [tableName]: pending }, ReturnConsumedCapacity: "TOTAL" }));
            const unprocessed: WriteRequest[] = result.UnprocessedItems?.[tableName] ?? [];
            for (const request of pending.slice(unprocessed.length)) countWrite(undefined, itemBytes(request.PutRequest!.Item!), request.PutRequest!.Item!.sk!.S!);
            metrics.writeUnits += result.ConsumedCapacity?.reduce((sum, capacity) => sum + (capacity.CapacityUnits ?? 0), 0) ?? 0;
            pending = unprocessed;
          }
        }),
        WRITE_CONCURRENCY,
      );
    },

    async list(tenant: string, job: { jobId: string; incarnation: string } | null, limit: number): Promise<RejectionRecord[]> {
      const result = await client.send(
        new QueryCommand({
          TableName: tableName,
          KeyConditionExpression: "pk = :pk AND begins_with(sk, :prefix)",
          ExpressionAttributeValues: { ":pk": { S: partitionOf(tenant, job?.jobId ?? null, job?.incarnation ?? null) }, ":prefix": { S: "REJ#" } },
          ScanIndexForward: false,
          Limit: limit,
        }),
      );
      return (result.Items ?? []).map((item) => ({
        tenant,
        jobId: item.job?.S ?? null,
        incarnation: job?.incarnation ?? null,
        code: item.code!.S!,
        reason: item.reason!.S!,
        source: item.source!.S!,
        excerpt: item.excerpt!.S!,
        atMs: Number(item.at!.N),
      }));
    },
  };
}
