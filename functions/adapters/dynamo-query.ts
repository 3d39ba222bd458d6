/** Every item of one partition (optionally those whose sort key has a prefix or lies in a range, and only some attributes), across pages. */
import { QueryCommand, type AttributeValue, type DynamoDBClient } from "@aws-sdk/client-dynamodb";

export type Item = Record<string, AttributeValue>;

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
