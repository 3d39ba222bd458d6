/**
 * A job's state as stored items: the head (head.ts) and the bounded items under it (leaves.ts),
 * both built of the tuples of records.ts. Compact and JSON-safe, because a DynamoDB write is
 * charged on the whole item.
 */
export * from "./head.ts";
export * from "./leaves.ts";
