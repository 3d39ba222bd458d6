/**
 * A tenant's jobs, newest first, for `GET /v1/jobs` and the dashboard: one small item per job
 * under the tenant (`pk = TENANT#<tenant>`, `sk = JOBS#<created_at>#<job id>`, with the job's
 * incarnation), written when the job is created, before its head, so that every job that exists
 * is listed; an entry whose job never came to be, expired, or was replaced by a newer job of the
 * same id is left out when listed. The figures come from each job's head (one BatchGetItem per
 * 100 jobs): the head holds the status, the displayed combined figure and the ETA, so no part is
 * read. The list costs no write beyond creation.
 */
import { PutItemCommand, QueryCommand, type ConsumedCapacity, type DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { decodeHead, type HeadCode } from "../../core/codec.ts";
import type { JobIndex, JobListEntry, JobMeta, JobRef } from "../../core/ports.ts";
import { renderSnapshot } from "../../core/snapshot.ts";
import { decodeBody, HEAD, headKey, isExpired, itemBytes, tenantKey, type Item } from "./dynamo-items.ts";
import { batchGetItems } from "./dynamo-query.ts";

/** An entry outlives its job's 30 days of inactivity by a little; listing skips expired jobs anyway. */
const ENTRY_TTL_SECONDS = 31 * 24 * 3600;
const PREFIX = "JOBS#";

const encodeCursor = (sk: string) => Buffer.from(sk).toString("base64url");
function decodeCursor(cursor: string): string | null {
  const sk = Buffer.from(cursor, "base64url").toString("utf8");
  return sk.startsWith(PREFIX) ? sk : null;
}

export function createDynamoJobIndex(options: {
  client: DynamoDBClient;
  tableName: string;
  countWrite: (capacity: ConsumedCapacity | undefined, bytes: number, sk?: string) => void;
}): JobIndex & { add(meta: JobMeta): Promise<void> } {
  const { client, tableName, countWrite } = options;

  /** Many heads at once (eventually consistent: a list may lag a second), expired ones left out. */
  async function readHeads(refs: readonly JobRef[]): Promise<Map<string, Item>> {
    const items = await batchGetItems(client, tableName, refs.map((ref) => ({ pk: { S: headKey(ref) }, sk: { S: HEAD } })));
    return new Map(items.filter((item) => !isExpired(item, Date.now())).map((item) => [item.pk!.S!, item]));
  }

  return {
    async add(meta) {
      const item: Item = {
        pk: { S: tenantKey(meta.tenant) },
        sk: { S: `${PREFIX}${String(meta.createdAtMs).padStart(15, "0")}#${meta.jobId}` },
        job: { S: meta.jobId },
        inc: { S: meta.incarnation },
        expires_at: { N: String(Math.floor(meta.createdAtMs / 1000) + ENTRY_TTL_SECONDS) },
      };
      const result = await client.send(new PutItemCommand({ TableName: tableName, Item: item, ReturnConsumedCapacity: "TOTAL" }));
      countWrite(result.ConsumedCapacity, itemBytes(item), item.sk!.S!);
    },

    async list(tenant, page) {
      const start = page.cursor === null ? null : decodeCursor(page.cursor);
      if (page.cursor !== null && start === null) throw new RangeError("cursor is not one this API gave");
      const result = await client.send(
        new QueryCommand({
          TableName: tableName,
          KeyConditionExpression: "pk = :pk AND begins_with(sk, :prefix)",
          ExpressionAttributeValues: { ":pk": { S: tenantKey(tenant) }, ":prefix": { S: PREFIX } },
          ScanIndexForward: false,
          Limit: page.limit,
          ...(start === null ? {} : { ExclusiveStartKey: { pk: { S: tenantKey(tenant) }, sk: { S: start } } }),
        }),
      );
      const entries = result.Items ?? [];
      const heads = await readHeads(entries.map((entry) => ({ tenant, jobId: entry.job!.S! })));
      const jobs: JobListEntry[] = [];
      for (const entry of entries) {
        const jobId = entry.job!.S!;
        const head = heads.get(headKey({ tenant, jobId }));
        if (head === undefined || head.inc?.S !== entry.inc!.S) continue;
        const snapshot = renderSnapshot(decodeHead(JSON.parse(decodeBody(head)) as HeadCode));
        jobs.push({
          jobId,
          createdAtMs: Number(head.created_at!.N),
          status: snapshot.status,
          version: snapshot.version,
          progressCombined: snapshot.progress_combined,
          etaSeconds: snapshot.eta_seconds,
          updatedAtMs: snapshot.updated_at === null ? null : Date.parse(snapshot.updated_at),
        });
      }
      const last = result.LastEvaluatedKey?.sk?.S;
      return { jobs, nextCursor: last === undefined ? null : encodeCursor(last) };
    },
  };
}
