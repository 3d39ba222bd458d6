/**
 * Connections and subscriptions on DynamoDB, in the same table:
 *   CONNS#<shard>     / CONN#<connection>    tenant, the token's job scope, its key id and expiry
 *                                            (expires with API Gateway's 2 h limit); 8 shards by
 *                                            a hash of the id, listed by the sweep
 *   CONN#<connection> / SUB#<tenant>#<job>   the connection's subscriptions, with the job's partition (for cleanup)
 *   <job partition>   / SUB#<connection>     the job's subscribers (the ticker's fan-out list), the
 *                                            version `job_finished` last went out with, and
 *                                            whether the subscriber asked for in-flight detail
 *   <job partition>   / SUBREV               a counter bumped after every change to that list
 * The job partition is the job's incarnation (items.ts), so a new job of an expired one's
 * id starts with no subscribers and no `job_finished` sent.
 */
import { BatchWriteItemCommand, GetItemCommand, PutItemCommand, UpdateItemCommand, type DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { batchGetItems, queryPartition, type Item } from "./query.ts";
import type { Connection, Connections, JobMeta, JobRef, Subscriber, Subscriptions } from "../../../core/ports.ts";
import { changeKey, CONNECTION_PREFIX, CONNECTION_SHARDS, connectionIdOfRecord, connectionPartition, connectionRecordKey, connectionShardKey, jobKey, SUBSCRIBER_PREFIX, subscriberKey, SUBSCRIBERS_REVISION_SK, subscriptionKey } from "./keys.ts";

/** API Gateway ends every WebSocket connection after 2 hours. */
const CONNECTION_TTL_SECONDS = 2 * 3600 + 300;
/** Subscriber lists kept between ticks (re-read only when their job's revision moved). */
const CACHED_LISTS = 10_000;

interface Options {
  client: DynamoDBClient;
  tableName: string;
  now: () => number;
}

const key = (pk: string, sk: string): Item => ({ pk: { S: pk }, sk: { S: sk } });

function ttl(now: () => number) {
  return () => ({ N: String(Math.floor(now() / 1000) + CONNECTION_TTL_SECONDS) });
}

async function deleteKeys(client: DynamoDBClient, tableName: string, keys: Item[]): Promise<void> {
  for (let i = 0; i < keys.length; i += 25) {
    let requests = keys.slice(i, i + 25).map((Key) => ({ DeleteRequest: { Key } }));
    while (requests.length > 0) {
      const result = await client.send(new BatchWriteItemCommand({ RequestItems: { [tableName]: requests } }));
      requests = (result.UnprocessedItems?.[tableName] ?? []) as typeof requests;
    }
  }
}

/** After the subscriber items are written, so that a reader who sees the new revision sees them too. */
async function bumpRevision(client: DynamoDBClient, tableName: string, jobPartition: string, expiresAt: () => { N: string }): Promise<void> {
  await client.send(
    new UpdateItemCommand({
      TableName: tableName,
      Key: key(jobPartition, SUBSCRIBERS_REVISION_SK),
      UpdateExpression: "ADD revision :one SET expires_at = :expires",
      ExpressionAttributeValues: { ":one": { N: "1" }, ":expires": expiresAt() },
    }),
  );
}

function connectionOf(item: Item): Connection {
  return {
    connectionId: connectionIdOfRecord(item.sk!.S!),
    tenant: item.tenant!.S!,
    scope: JSON.parse(item.scope!.S!) as string[],
    connectedAtMs: Number(item.connected_at!.N),
    keyId: item.key_id?.S ?? "",
    tokenExpiresAtMs: Number(item.token_expires_at?.N ?? 0),
  };
}

export function createDynamoConnections(options: Options): Connections {
  const { client, tableName } = options;
  const expiresAt = ttl(options.now);
  const recordKey = (connectionId: string) => {
    const { pk, sk } = connectionRecordKey(connectionId);
    return key(pk, sk);
  };
  return {
    async put(connection) {
      await client.send(
        new PutItemCommand({
          TableName: tableName,
          Item: {
            ...recordKey(connection.connectionId),
            tenant: { S: connection.tenant },
            scope: { S: JSON.stringify(connection.scope) },
            connected_at: { N: String(connection.connectedAtMs) },
            key_id: { S: connection.keyId },
            token_expires_at: { N: String(connection.tokenExpiresAtMs) },
            expires_at: expiresAt(),
          },
        }),
      );
    },
    async get(connectionId): Promise<Connection | null> {
      const { Item } = await client.send(new GetItemCommand({ TableName: tableName, Key: recordKey(connectionId), ConsistentRead: true }));
      return Item === undefined ? null : connectionOf(Item);
    },
    async all() {
      const shards = await Promise.all(Array.from({ length: CONNECTION_SHARDS }, (_, shard) => queryPartition(client, tableName, connectionShardKey(shard), { prefix: CONNECTION_PREFIX })));
      return shards.flat().map(connectionOf);
    },
    async remove(connectionId) {
      const own = await queryPartition(client, tableName, connectionPartition(connectionId));
      const keys = [recordKey(connectionId), ...own.map((item) => key(item.pk!.S!, item.sk!.S!))];
      const jobPartitions = own.flatMap((item) => (item.job_pk?.S === undefined ? [] : [item.job_pk.S]));
      for (const jobPartition of jobPartitions) keys.push(key(jobPartition, subscriberKey(connectionId)));
      await deleteKeys(client, tableName, keys);
      for (const jobPartition of jobPartitions) await bumpRevision(client, tableName, jobPartition, expiresAt);
    },
  };
}

export function createDynamoSubscriptions(options: Options): Subscriptions {
  const { client, tableName } = options;
  const expiresAt = ttl(options.now);
  const cache = new Map<string, { revision: number; subscribers: Subscriber[] }>();

  async function revisionsOf(partitions: readonly string[]): Promise<Map<string, number>> {
    const items = await batchGetItems(client, tableName, partitions.map((partition) => key(partition, SUBSCRIBERS_REVISION_SK)), { consistent: true });
    return new Map(items.map((item) => [item.pk!.S!, Number(item.revision!.N)]));
  }

  async function listOf(partition: string): Promise<Subscriber[]> {
    const items = await queryPartition(client, tableName, partition, { prefix: SUBSCRIBER_PREFIX, consistent: true, attributes: ["connection", "finished_version", "detail"] });
    return items.map((item) => ({
      connectionId: item.connection!.S!,
      finishedVersion: item.finished_version === undefined ? null : Number(item.finished_version.N),
      ...(item.detail?.BOOL === true ? { detail: true } : {}),
    }));
  }

  return {
    async subscribe(connectionId, job: JobMeta, options) {
      const partition = jobKey(job);
      // Subscribing again keeps what was already sent (`finished_version` is left as it is) and
      // takes this request's detail flag.
      const { Attributes } = await client.send(
        new UpdateItemCommand({
          TableName: tableName,
          Key: key(partition, subscriberKey(connectionId)),
          UpdateExpression: "SET #connection = :connection, expires_at = :expires, detail = :detail",
          ExpressionAttributeNames: { "#connection": "connection" },
          ExpressionAttributeValues: { ":connection": { S: connectionId }, ":expires": expiresAt(), ":detail": { BOOL: options?.detail === true } },
          ReturnValues: "ALL_NEW",
        }),
      );
      const finishedVersion = Attributes?.finished_version === undefined ? null : Number(Attributes.finished_version.N);
      await client.send(
        new PutItemCommand({ TableName: tableName, Item: { ...key(connectionPartition(connectionId), subscriptionKey(job)), job_pk: { S: partition }, expires_at: expiresAt() } }),
      );
      await bumpRevision(client, tableName, partition, expiresAt);
      return { finishedVersion };
    },

    async unsubscribe(connectionId, job: JobRef) {
      const own = key(connectionPartition(connectionId), subscriptionKey(job));
      const { Item } = await client.send(new GetItemCommand({ TableName: tableName, Key: own, ConsistentRead: true }));
      const partition = Item?.job_pk?.S;
      await deleteKeys(client, tableName, partition === undefined ? [own] : [own, key(partition, subscriberKey(connectionId))]);
      if (partition !== undefined) await bumpRevision(client, tableName, partition, expiresAt);
    },

    async subscribersOf(jobs) {
      const partitions = jobs.map(jobKey);
      const revisions = await revisionsOf(partitions);
      return Promise.all(
        partitions.map(async (partition) => {
          const revision = revisions.get(partition) ?? 0;
          const cached = cache.get(partition);
          cache.delete(partition);
          const subscribers = revision === 0 ? [] : cached?.revision === revision ? cached.subscribers : await listOf(partition);
          cache.set(partition, { revision, subscribers });
          if (cache.size > CACHED_LISTS) cache.delete(cache.keys().next().value!);
          return subscribers;
        }),
      );
    },

    async markFinishedSent(connectionId, job, version) {
      const partition = jobKey(job);
      await client
        .send(
          new UpdateItemCommand({
            TableName: tableName,
            Key: key(partition, subscriberKey(connectionId)),
            UpdateExpression: "SET finished_version = :version",
            // A subscriber that left meanwhile stays gone; a later version already recorded stays.
            ConditionExpression: "attribute_exists(pk) AND (attribute_not_exists(finished_version) OR finished_version < :version)",
            ExpressionAttributeValues: { ":version": { N: String(version) } },
          }),
        )
        .catch((error: unknown) => {
          if ((error as Error).name !== "ConditionalCheckFailedException") throw error;
        });
      // The cached list learns it too, so the next tick does not send the same `job_finished` again.
      const cached = cache.get(partition)?.subscribers.find((subscriber) => subscriber.connectionId === connectionId);
      if (cached !== undefined && (cached.finishedVersion ?? -1) < version) cached.finishedVersion = version;
    },
  };
}
