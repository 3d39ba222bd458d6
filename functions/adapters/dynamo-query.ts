/** Every item of one partition (optionally those whose sort key starts with a prefix, and only some attributes), across pages. */
import { QueryCommand, type AttributeValue, type DynamoDBClient } from "@aws-sdk/client-dynamodb";

export type Item = Record<string, AttributeValue>;

export async function queryPartition(client: DynamoDBClient, tableName: string, pk: string, options: { prefix?: string; consistent?: boolean; attributes?: string[] } = {}): Promise<Item[]> {
  const items: Item[] = [];
  let start: Item | undefined;
  do {
    const result = await client.send(
      new QueryCommand({
        TableName: tableName,
        KeyConditionExpression: options.prefix === undefined ? "pk = :pk" : "pk = :pk AND begins_with(sk, :prefix)",
        ExpressionAttributeValues: { ":pk": { S: pk }, ...(options.prefix === undefined ? {} : { ":prefix": { S: options.prefix } }) },
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
