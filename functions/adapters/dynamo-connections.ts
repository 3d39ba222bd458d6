/**
 * ConnectionStore on DynamoDB, in the same table:
 *   CONN#<connection> / CONN         tenant, the token's job scope (expires with API Gateway's 2 h limit)
 *   CONN#<connection> / SUB#<job>    the connection's subscriptions (for cleanup on disconnect)
 *   JOB#<job>         / SUB#<conn>   the job's subscribers (the ticker's fan-out list), and
 *                                    whether `job_finished` went out
 *   JOB#<job>         / SUBREV       a counter bumped after every change to that list
 */
import { BatchGetItemCommand, BatchWriteItemCommand, ConditionalCheckFailedException, GetItemCommand, PutItemCommand, UpdateItemCommand, type DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { queryPartition, type Item } from "./dynamo-query.ts";
import type { Connection, ConnectionStore, Subscriber } from "../../core/ports.ts";


/** API Gateway ends every WebSocket connection after 2 hours. */
const CONNECTION_TTL_SECONDS = 2 * 3600 + 300;

export function createDynamoConnections(options: { client: DynamoDBClient; tableName: string; now?: () => number }): ConnectionStore {
  const { client, tableName } = options;
  const now = options.now ?? Date.now;
  const expiresAt = () => ({ N: String(Math.floor(now() / 1000) + CONNECTION_TTL_SECONDS) });
  const key = (pk: string, sk: string): Item => ({ pk: { S: pk }, sk: { S: sk } });

  const query = (pk: string, prefix: string) => queryPartition(client, tableName, pk, { prefix });

  /** After the subscriber items are written, so that a reader who sees the new revision sees them too. */
  async function bumpRevision(jobId: string): Promise<void> {
    await client.send(
      new UpdateItemCommand({
        TableName: tableName,
        Key: key(`JOB#${jobId}`, "SUBREV"),
        UpdateExpression: "ADD revision :one SET expires_at = :expires",
        ExpressionAttributeValues: { ":one": { N: "1" }, ":expires": expiresAt() },
      }),
    );
  }

  async function deleteKeys(keys: Item[]): Promise<void> {
    for (let i = 0; i < keys.length; i += 25) {
      let requests = keys.slice(i, i + 25).map((Key) => ({ DeleteRequest: { Key } }));
      while (requests.length > 0) {
        const result = await client.send(new BatchWriteItemCommand({ RequestItems: { [tableName]: requests } }));
        requests = (result.UnprocessedItems?.[tableName] ?? []) as typeof requests;
      }
    }
  }

  return {
    async putConnection(connection) {
      await client.send(
        new PutItemCommand({
          TableName: tableName,
          Item: {
            ...key(`CONN#${connection.connectionId}`, "CONN"),
            tenant: { S: connection.tenant },
            scope: { S: JSON.stringify(connection.scope) },
            connected_at: { N: String(connection.connectedAtMs) },
            expires_at: expiresAt(),
          },
        }),
      );
    },
    async getConnection(connectionId) {
      const { Item } = await client.send(new GetItemCommand({ TableName: tableName, Key: key(`CONN#${connectionId}`, "CONN"), ConsistentRead: true }));
      if (Item === undefined) return null;
      return { connectionId, tenant: Item.tenant!.S!, scope: JSON.parse(Item.scope!.S!) as string[], connectedAtMs: Number(Item.connected_at!.N) };
    },
    async deleteConnection(connectionId) {
      const own = await query(`CONN#${connectionId}`, "");
      const keys = own.map((item) => key(item.pk!.S!, item.sk!.S!));
      const jobs = own.filter((item) => item.sk!.S!.startsWith("SUB#")).map((item) => item.sk!.S!.slice(4));
      for (const jobId of jobs) keys.push(key(`JOB#${jobId}`, `SUB#${connectionId}`));
      await deleteKeys(keys);
      for (const jobId of jobs) await bumpRevision(jobId);
    },
    async subscribe(connectionId, jobId) {
      for (const item of [key(`JOB#${jobId}`, `SUB#${connectionId}`), key(`CONN#${connectionId}`, `SUB#${jobId}`)]) {
        await client.send(
          new PutItemCommand({
            TableName: tableName,
            Item: { ...item, connection: { S: connectionId }, job: { S: jobId }, expires_at: expiresAt() },
            // Subscribing again keeps what was already sent.
            ConditionExpression: "attribute_not_exists(pk)",
          }),
        ).catch((error: unknown) => {
          if (!(error instanceof ConditionalCheckFailedException) && (error as Error).name !== "ConditionalCheckFailedException") throw error;
        });
      }
      await bumpRevision(jobId);
    },
    async unsubscribe(connectionId, jobId) {
      await deleteKeys([key(`JOB#${jobId}`, `SUB#${connectionId}`), key(`CONN#${connectionId}`, `SUB#${jobId}`)]);
      await bumpRevision(jobId);
    },
    async subscriberRevisions(jobIds) {
      const revisions = new Map<string, number>();
      for (let i = 0; i < jobIds.length; i += 100) {
        let keys: Item[] | undefined = jobIds.slice(i, i + 100).map((jobId) => key(`JOB#${jobId}`, "SUBREV"));
        while (keys !== undefined && keys.length > 0) {
          const result = await client.send(new BatchGetItemCommand({ RequestItems: { [tableName]: { Keys: keys, ConsistentRead: true } } }));
          for (const item of result.Responses?.[tableName] ?? []) revisions.set(item.pk!.S!.slice(4), Number(item.revision!.N));
          keys = result.UnprocessedKeys?.[tableName]?.Keys as Item[] | undefined;
        }
      }
      for (const jobId of jobIds) if (!revisions.has(jobId)) revisions.set(jobId, 0);
      return revisions;
    },
    async subscribersOf(jobId) {
      const items = await queryPartition(client, tableName, `JOB#${jobId}`, { prefix: "SUB#", attributes: ["connection", "finished_sent"] });
      return items.map((item): Subscriber => ({ connectionId: item.connection!.S!, jobId, isFinishedSent: item.finished_sent?.BOOL === true }));
    },
    async claimFinished(connectionId, jobId) {
      try {
        await client.send(
          new UpdateItemCommand({
            TableName: tableName,
            Key: key(`JOB#${jobId}`, `SUB#${connectionId}`),
            UpdateExpression: "SET finished_sent = :yes",
            ConditionExpression: "attribute_exists(pk) AND attribute_not_exists(finished_sent)",
            ExpressionAttributeValues: { ":yes": { BOOL: true } },
          }),
        );
        return true;
      } catch (error) {
        if (error instanceof ConditionalCheckFailedException || (error as Error).name === "ConditionalCheckFailedException") return false;
        throw error;
      }
    },
  };
}
