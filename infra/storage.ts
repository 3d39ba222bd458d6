/** The single table: job heads, parts, rejections, API keys (keys and TTL as functions/adapters/dynamo-table.ts). */
export const table = new sst.aws.Dynamo("Progress", {
  fields: { pk: "string", sk: "string" },
  primaryIndex: { hashKey: "pk", rangeKey: "sk" },
  ttl: "expires_at",
  deletionProtection: $app.stage === "production",
});
