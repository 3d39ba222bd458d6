/**
 * The admin audit log on DynamoDB: one item per admin action in one partition
 * (`pk = AUDIT`, `sk = <ms, zero-padded>#<random>`), read newest first. Admin actions are rare
 * (people run them), so one partition never nears DynamoDB's per-partition limits. Entries are
 * kept for `AUDIT_RETENTION_DAYS` (the table's TTL), then deleted by DynamoDB.
 */
import { PutItemCommand, QueryCommand, type DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { randomBytes } from "node:crypto";
import type { AuditEntry } from "../../../core/access/keys.ts";
import type { AuditLog } from "../../../core/ports.ts";
import { AUDIT_PK, auditKey } from "./keys.ts";
import { TABLE_SHAPE } from "./table.ts";

export const AUDIT_RETENTION_DAYS = 400;

export function createDynamoAuditLog(options: { client: DynamoDBClient; tableName: string }): AuditLog {
  const { client, tableName } = options;
  return {
    async record(entry) {
      await client.send(
        new PutItemCommand({
          TableName: tableName,
          Item: {
            pk: { S: AUDIT_PK },
            sk: { S: auditKey(entry.atMs, randomBytes(4).toString("hex")) },
            entry: { S: JSON.stringify(entry) },
            [TABLE_SHAPE.ttlAttribute]: { N: String(Math.ceil(entry.atMs / 1000) + AUDIT_RETENTION_DAYS * 86_400) },
          },
        }),
      );
    },
    async list(limit) {
      const { Items } = await client.send(
        new QueryCommand({ TableName: tableName, KeyConditionExpression: "pk = :pk", ExpressionAttributeValues: { ":pk": { S: AUDIT_PK } }, ScanIndexForward: false, Limit: limit, ConsistentRead: true }),
      );
      // Written by this adapter only, from the AuditEntry type.
      return (Items ?? []).map((item) => JSON.parse(item.entry!.S!) as AuditEntry);
    },
  };
}
