/** Requests shared by the DynamoDB adapters: a partition across pages, items by key in batches, and puts in batches. */
import {
  BatchGetItemCommand,
  BatchWriteItemCommand,
  QueryCommand,
  type AttributeValue,
  type BatchGetItemCommandOutput,
  type BatchWriteItemCommandOutput,
  type DynamoDBClient,
  type WriteRequest,
} from "@aws-sdk/client-dynamodb";
import { runBounded, sleep } from "./items.ts";

export type Item = Record<string, AttributeValue>;

const idOf = (pk: string, sk: string) => `${pk}\n${sk}`;
const keyId = (item: Item) => idOf(item.pk!.S!, item.sk!.S!);

/** Before asking again for what a batch request left unprocessed: 50 ms, doubling, at most 1 s. */
const backoff = (attempt: number) => sleep(Math.min(1000, 25 * 2 ** attempt));

/** Every item of one partition (optionally those whose sort key has a prefix or lies in a range, and only some attributes), across pages. */
export async function queryPartition(client: DynamoDBClient, tableName: string, pk: string, options: { prefix?: string; between?: [string, string]; consistent?: boolean; attributes?: string[] } = {}): Promise<Item[]> {
  const items: Item[] = [];
  let start: Item | undefined;
  do {
    const result = await client.send(
      new QueryCommand({
        TableName: tableName,
        KeyConditionExpression: `pk = :pk${options.prefix !== undefined ? " AND begins_with(sk, :prefix)" : options.between !== undefined ? " AND sk BETWEEN :from AND :to" : ""}`,
        ExpressionAttributeValues: {
          ":pk": { S: pk },
          ...(options.prefix === undefined ? {} : { ":prefix": { S: options.prefix } }),
          ...(options.between === undefined ? {} : { ":from": { S: options.between[0] }, ":to": { S: options.between[1] } }),
        },
        ConsistentRead: options.consistent ?? false,
        ...(options.attributes === undefined
          ? {}
          : { ProjectionExpression: options.attributes.map((_, index) => `#a${index}`).join(", "), ExpressionAttributeNames: Object.fromEntries(options.attributes.map((name, index) => [`#a${index}`, name])) }),
        ExclusiveStartKey: start,
      }),
    );
    items.push(...(result.Items ?? []));
    start = result.LastEvaluatedKey;
  } while (start !== undefined);
  return items;
}

/** Items by key, any number of them (BatchGetItem takes 100), keys left unprocessed (throttling) asked again with backoff. */
export async function batchGetItems(client: DynamoDBClient, tableName: string, keys: readonly Item[], options: { consistent?: boolean; projection?: string } = {}): Promise<Item[]> {
  const items: Item[] = [];
  for (let i = 0; i < keys.length; i += 100) {
    let pending: Item[] | undefined = keys.slice(i, i + 100);
    for (let attempt = 0; pending !== undefined && pending.length > 0; attempt++) {
      if (attempt > 0) await backoff(attempt);
      const result: BatchGetItemCommandOutput = await client.send(
        new BatchGetItemCommand({
          RequestItems: { [tableName]: { Keys: pending, ConsistentRead: options.consistent ?? false, ...(options.projection === undefined ? {} : { ProjectionExpression: options.projection }) } },
        }),
      );
      items.push(...(result.Responses?.[tableName] ?? []));
      pending = result.UnprocessedKeys?.[tableName]?.Keys;
    }
  }
  return items;
}

/**
 * Strongly consistent reads of single items that gather every read asked for in the same turn of
 * the event loop into BatchGetItem requests: a tick that loads its 100 changed jobs side by side
 * reads their heads in one request, not 100 (each request costs the caller's CPU and a round trip;
 * the read units are the same).
 */
export function createItemReader(client: DynamoDBClient, tableName: string): (key: { pk: string; sk: string }) => Promise<Item | undefined> {
  let waiting = new Map<string, { key: Item; readers: { resolve: (item: Item | undefined) => void; reject: (error: unknown) => void }[] }>();

  async function readWaiting(): Promise<void> {
    const batch = waiting;
    waiting = new Map();
    try {
      const found = new Map((await batchGetItems(client, tableName, [...batch.values()].map(({ key }) => key), { consistent: true })).map((item) => [keyId(item), item]));
      for (const [id, { readers }] of batch) for (const reader of readers) reader.resolve(found.get(id));
    } catch (error) {
      for (const { readers } of batch.values()) for (const reader of readers) reader.reject(error);
    }
  }

  return ({ pk, sk }) =>
    new Promise((resolve, reject) => {
      if (waiting.size === 0) setImmediate(() => void readWaiting());
      const id = idOf(pk, sk);
      let entry = waiting.get(id);
      if (entry === undefined) waiting.set(id, (entry = { key: { pk: { S: pk }, sk: { S: sk } }, readers: [] }));
      entry.readers.push({ resolve, reject });
    });
}

/** Deletes items by key, 25 to a BatchWriteItem, asking again (with backoff) for what was left unprocessed. */
export async function deleteItems(client: DynamoDBClient, tableName: string, keys: readonly Item[]): Promise<void> {
  for (let i = 0; i < keys.length; i += 25) {
    let pending: WriteRequest[] = keys.slice(i, i + 25).map((Key) => ({ DeleteRequest: { Key } }));
    for (let attempt = 0; pending.length > 0; attempt++) {
      if (attempt > 0) await backoff(attempt);
      const result: BatchWriteItemCommandOutput = await client.send(new BatchWriteItemCommand({ RequestItems: { [tableName]: pending } }));
      pending = result.UnprocessedItems?.[tableName] ?? [];
    }
  }
}

/** Requests a batch put may take per chunk: the first, and retries of what was left unprocessed (about 3.5 s of backoff in all). */
const PUT_ATTEMPTS = 8;
/** Chunks of 25 sent at once. */
const PUT_CONCURRENCY = 16;

/**
 * Unconditional puts of any number of items in BatchWriteItem requests of 25 (items of one request
 * must have distinct keys), sent side by side. Items left unprocessed (throttling) are sent again
 * with backoff, up to `PUT_ATTEMPTS` requests per chunk. Resolves with the items not written (those
 * still unprocessed, and what was pending of a chunk whose request failed) and the last such
 * failure. `onWritten` hears of each item written; `onConsumed` of the write units each request
 * reports.
 */
export async function batchPutItems(
  client: DynamoDBClient,
  tableName: string,
  items: readonly Item[],
  options: { onWritten?: (item: Item) => void; onConsumed?: (units: number) => void } = {},
): Promise<{ unwritten: Item[]; failure: unknown }> {
  const chunks: Item[][] = [];
  for (let i = 0; i < items.length; i += 25) chunks.push(items.slice(i, i + 25));
  const unwritten: Item[] = [];
  let failure: unknown;
  const putChunk = async (chunk: Item[]) => {
    let pending: Item[] = chunk;
    try {
      for (let attempt = 0; pending.length > 0 && attempt < PUT_ATTEMPTS; attempt++) {
        if (attempt > 0) await backoff(attempt);
        const result: BatchWriteItemCommandOutput = await client.send(
          new BatchWriteItemCommand({ RequestItems: { [tableName]: pending.map((item): WriteRequest => ({ PutRequest: { Item: item } })) }, ReturnConsumedCapacity: "TOTAL" }),
        );
        options.onConsumed?.(result.ConsumedCapacity?.reduce((sum, capacity) => sum + (capacity.CapacityUnits ?? 0), 0) ?? 0);
        const left = new Set((result.UnprocessedItems?.[tableName] ?? []).map(({ PutRequest }) => keyId(PutRequest!.Item!)));
        for (const item of pending) if (!left.has(keyId(item))) options.onWritten?.(item);
        pending = pending.filter((item) => left.has(keyId(item)));
      }
      if (pending.length > 0) throw new Error(`${pending.length} items still unprocessed after ${PUT_ATTEMPTS} BatchWriteItem requests (throttled)`);
    } catch (error) {
      failure = error;
      unwritten.push(...pending);
    }
  };
  // putChunk never throws: a chunk that fails leaves its items unwritten and the others go on.
  await runBounded(chunks.map((chunk) => () => putChunk(chunk)), PUT_CONCURRENCY);
  return { unwritten, failure };
}

