/**
 * The rejection log on DynamoDB: a rejected input is an item `REJ#<time>#<source>` under its job
 * (its incarnation: `GET /v1/jobs/{id}/rejections`) or, when no job took it (the job never
 * appeared, or the input named none), under its tenant (`GET /v1/rejections`); kept 30 days.
 */
import { QueryCommand, type ConsumedCapacity, type DynamoDBClient } from "@aws-sdk/client-dynamodb";
import type { RejectionLog, RejectionRecord } from "../../../core/ports.ts";
import { itemBytes, type Item } from "./items.ts";
import { jobKey, REJECTION_PREFIX, rejectionKey, tenantKey } from "./keys.ts";
import { batchPutItems } from "./query.ts";

const REJECTION_TTL_SECONDS = 30 * 24 * 3600;

export function createDynamoRejectionLog(options: {
  client: DynamoDBClient;
  tableName: string;
  countWrite: (capacity: ConsumedCapacity | undefined, bytes: number, sk?: string) => void;
  metrics: { writeUnits: number };
}): RejectionLog {
  const { client, tableName, countWrite, metrics } = options;
  const partitionOf = (tenant: string, jobId: string | null, incarnation: string | null) =>
    jobId === null || incarnation === null ? tenantKey(tenant) : jobKey({ tenant, jobId, incarnation });
  return {
    async record(records: readonly RejectionRecord[]): Promise<void> {
      // In writes of 25 (BatchWriteItem): one producer past a limit can be refused thousands of
      // events in one batch, each kept for /rejections.
      const items: Item[] = records.map((record) => ({
        pk: { S: partitionOf(record.tenant, record.jobId, record.incarnation) },
        sk: { S: rejectionKey(record.atMs, record.source) },
        ...(record.jobId === null ? {} : { job: { S: record.jobId } }),
        code: { S: record.code },
        reason: { S: record.reason.slice(0, 2000) },
        source: { S: record.source },
        excerpt: { S: record.excerpt.slice(0, 1000) },
        at: { N: String(record.atMs) },
        expires_at: { N: String(Math.floor(record.atMs / 1000) + REJECTION_TTL_SECONDS) },
      }));
      const { unwritten, failure } = await batchPutItems(client, tableName, items, {
        onWritten: (item) => countWrite(undefined, itemBytes(item), item.sk!.S!),
        onConsumed: (units) => (metrics.writeUnits += units),
      });
      if (unwritten.length > 0) throw new Error(`${unwritten.length} of ${items.length} rejections not recorded: ${String(failure)}`, { cause: failure });
    },

    async list(tenant: string, job: { jobId: string; incarnation: string } | null, limit: number): Promise<RejectionRecord[]> {
      const result = await client.send(
        new QueryCommand({
          TableName: tableName,
          KeyConditionExpression: "pk = :pk AND begins_with(sk, :prefix)",
          ExpressionAttributeValues: { ":pk": { S: partitionOf(tenant, job?.jobId ?? null, job?.incarnation ?? null) }, ":prefix": { S: REJECTION_PREFIX } },
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
