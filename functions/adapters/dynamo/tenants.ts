/**
 * The tenant registry on DynamoDB: one small item per tenant in one partition
 * (`pk = TENANTS`, `sk = TENANT#<name>`, {name, created_at}), so that listing tenants is a query
 * and never a scan of a table full of jobs. Registering a name is a conditional write: two
 * admins creating the same tenant at once get one tenant and one refusal.
 */
import { ConditionalCheckFailedException, GetItemCommand, PutItemCommand, type DynamoDBClient } from "@aws-sdk/client-dynamodb";
import type { TenantRecord } from "../../../core/access/keys.ts";
import type { Tenants } from "../../../core/ports.ts";
import { TENANT_RECORD_PREFIX, tenantRecordKey, TENANTS_PK } from "./keys.ts";
import { type Item } from "./items.ts";
import { queryPartition } from "./query.ts";

const recordOf = (item: Item): TenantRecord => ({ name: item.name!.S!, createdAtMs: Number(item.created_at!.N) });

export function createDynamoTenants(options: { client: DynamoDBClient; tableName: string; now: () => number }): Tenants {
  const { client, tableName } = options;
  const { now } = options;
  const key = (name: string) => ({ pk: { S: TENANTS_PK }, sk: { S: tenantRecordKey(name) } });
  return {
    async create(name) {
      const record: TenantRecord = { name, createdAtMs: now() };
      try {
        await client.send(
          new PutItemCommand({ TableName: tableName, Item: { ...key(name), name: { S: name }, created_at: { N: String(record.createdAtMs) } }, ConditionExpression: "attribute_not_exists(pk)" }),
        );
        return record;
      } catch (error) {
        if (error instanceof ConditionalCheckFailedException || (error as Error).name === "ConditionalCheckFailedException") return null;
        throw error;
      }
    },
    async get(name) {
      const { Item: item } = await client.send(new GetItemCommand({ TableName: tableName, Key: key(name), ConsistentRead: true }));
      return item === undefined ? null : recordOf(item);
    },
    async list() {
      return (await queryPartition(client, tableName, TENANTS_PK, { prefix: TENANT_RECORD_PREFIX, consistent: true })).map(recordOf);
    },
  };
}
