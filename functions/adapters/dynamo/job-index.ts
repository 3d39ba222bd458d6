/**
 * A tenant's jobs, newest first, for `GET /v1/jobs` and the dashboard: one small item per job
 * under the tenant (`pk = TENANT#<tenant>`, `sk = JOBS#<created_at>#<job id>#<incarnation>`), written when the job is created, before its head, so that every job that exists
 * is listed. A create refused because the id is taken removes the entry it wrote (docs/storage.md: a
 * refused request leaves no trace). An entry is listed only if the job's head carries its
 * incarnation, so a job is listed once whatever entries a crash (a create that died before its
 * head) or an older release left; such an entry, once older than CREATE_GRACE_MS (no create
 * takes that long), is deleted when a list meets it, as is the entry of a job whose head is gone.
 * Each job comes with its head (one BatchGetItem per 100 jobs): the head holds the status, the
 * displayed combined figure and the ETA, so no part is read. The list costs no write
 * beyond creation, but for those deletions.
 */
import { DeleteItemCommand, PutItemCommand, QueryCommand, type ConsumedCapacity, type DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { decodeHead, type HeadCode } from "../../../core/storage/index.ts";
import type { JobIndex, JobListEntry, JobMeta, JobRef } from "../../../core/ports.ts";
import { decodeBody, isExpired, itemBytes, metaOf, type Item } from "./items.ts";
import { createdAtOfJobEntry, HEAD, headKey, JOB_ENTRY_PREFIX, jobEntryKey, tenantKey } from "./keys.ts";
import { batchGetItems } from "./query.ts";

/** An entry without its job is the mark of a create in progress for this long (a Lambda's create ends within its 30 s). */
const CREATE_GRACE_MS = 5 * 60_000;

const encodeCursor = (sk: string) => Buffer.from(sk).toString("base64url");
function decodeCursor(cursor: string): string | null {
  const sk = Buffer.from(cursor, "base64url").toString("utf8");
  return sk.startsWith(JOB_ENTRY_PREFIX) ? sk : null;
}

export function createDynamoJobIndex(options: {
  client: DynamoDBClient;
  tableName: string;
  countWrite: (capacity: ConsumedCapacity | undefined, bytes: number, sk?: string) => void;
  now: () => number;
}): JobIndex & { add(meta: JobMeta): Promise<void>; remove(meta: JobMeta): Promise<void> } {
  const { client, tableName, countWrite } = options;
  const { now } = options;

  /** Many heads at once (eventually consistent: a list may lag a second), expired ones left out; each job's head asked for once. */
  async function readHeads(refs: readonly JobRef[]): Promise<Map<string, Item>> {
    const keys = [...new Set(refs.map(headKey))].map((pk) => ({ pk: { S: pk }, sk: { S: HEAD } }));
    const items = await batchGetItems(client, tableName, keys);
    return new Map(items.filter((item) => !isExpired(item, now())).map((item) => [item.pk!.S!, item]));
  }

  async function deleteEntry(pk: string, sk: string): Promise<void> {
    await client.send(new DeleteItemCommand({ TableName: tableName, Key: { pk: { S: pk }, sk: { S: sk } } }));
  }

  return {
    // No expiry of its own: the entry goes when a list finds the job's head gone (README, "Expiry").
    async add(meta) {
      const item: Item = { pk: { S: tenantKey(meta.tenant) }, sk: { S: jobEntryKey(meta) }, job: { S: meta.jobId }, inc: { S: meta.incarnation } };
      const result = await client.send(new PutItemCommand({ TableName: tableName, Item: item, ReturnConsumedCapacity: "TOTAL" }));
      countWrite(result.ConsumedCapacity, itemBytes(item), item.sk!.S!);
    },

    async remove(meta) {
      await deleteEntry(tenantKey(meta.tenant), jobEntryKey(meta));
    },

    async list(tenant, page) {
      const start = page.cursor === null ? null : decodeCursor(page.cursor);
      if (page.cursor !== null && start === null) throw new RangeError("cursor is not one this API gave");
      const result = await client.send(
        new QueryCommand({
          TableName: tableName,
          KeyConditionExpression: "pk = :pk AND begins_with(sk, :prefix)",
          ExpressionAttributeValues: { ":pk": { S: tenantKey(tenant) }, ":prefix": { S: JOB_ENTRY_PREFIX } },
          ScanIndexForward: false,
          Limit: page.limit,
          ...(start === null ? {} : { ExclusiveStartKey: { pk: { S: tenantKey(tenant) }, sk: { S: start } } }),
        }),
      );
      const entries = result.Items ?? [];
      const heads = await readHeads(entries.map((entry) => ({ tenant, jobId: entry.job!.S! })));
      const jobs: JobListEntry[] = [];
      const stale: string[] = [];
      for (const entry of entries) {
        const jobId = entry.job!.S!;
        const head = heads.get(headKey({ tenant, jobId }));
        if (head === undefined || head.inc?.S !== entry.inc!.S) {
          if (now() - createdAtOfJobEntry(entry.sk!.S!) > CREATE_GRACE_MS) stale.push(entry.sk!.S!);
          continue;
        }
        jobs.push({ meta: metaOf({ tenant, jobId }, head), head: decodeHead(JSON.parse(decodeBody(head)) as HeadCode) });
      }
      // Best effort: an entry not deleted now is skipped again by the next list.
      await Promise.allSettled(stale.map((sk) => deleteEntry(tenantKey(tenant), sk)));
      const last = result.LastEvaluatedKey?.sk?.S;
      return { jobs, nextCursor: last === undefined ? null : encodeCursor(last) };
    },
  };
}
