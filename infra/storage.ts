/**
 * The single table: job heads, parts, rejections, API keys (keys and TTL as
 * functions/adapters/dynamo/table.ts). Its stream carries the old image of each deleted item, so
 * that the reaper (infra/reaper.ts) hears of every job head TTL deletes.
 */
export const table = new sst.aws.Dynamo("Progress", {
  fields: { pk: "string", sk: "string" },
  primaryIndex: { hashKey: "pk", rangeKey: "sk" },
  ttl: "expires_at",
  stream: "old-image",
  deletionProtection: $app.stage === "production",
});
