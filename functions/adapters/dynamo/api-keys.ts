/**
 * API keys on DynamoDB, stored as SHA-256 hashes, never in clear, each scoped to a tenant; two
 * items per key (items.ts: a lookup item under the hash, a listing under the tenant).
 *
 * Revocation: lookups read the lookup item with a strongly consistent read, so a revoked key is
 * refused by every lookup that starts after `revoke` returned. A process caches what it learnt of
 * a key that worked for at most `API_KEY_CACHE_MS` (30 s), so an API Lambda container that saw
 * the key in the last 30 s may still take it that long: a revoked key stops working everywhere
 * within 30 s. Unknown and revoked keys are never cached (a flood of wrong keys cannot fill the
 * cache). The same holds for the keys named by subscriber tokens (`isActive`, read by key id from
 * the listing item).
 *
 * Scopes (`scopes`, a string set) are stored on both items; an item without them is of a key made
 * before scopes existed, which keeps all three.
 */
import { ConditionalCheckFailedException, GetItemCommand, PutItemCommand, UpdateItemCommand, type DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { createHash, randomBytes } from "node:crypto";
import type { ApiKeyRecord, KeyPrincipal } from "../../../core/access/keys.ts";
import type { ApiKeyStore } from "../../../core/ports.ts";
import { ALL_SCOPES, type Scope } from "../../../core/contract/admin.ts";
import { formatApiKey, keyIdOf, visiblePrefix } from "../../../core/access/keys.ts";
import { API_KEY_LISTING_PREFIX, API_KEY_SK, apiKeyListingKey, apiKeyLookupKey, tenantKey } from "./keys.ts";
import { type Item } from "./items.ts";
import { queryPartition } from "./query.ts";

/** How long a process trusts a key it has seen work (the bound on how late a revocation bites). */
export const API_KEY_CACHE_MS = 30_000;
const CACHE_ENTRIES = 1000;

export function hashApiKey(apiKey: string): string {
  return createHash("sha256").update(apiKey).digest("hex");
}

const isConditionFailure = (error: unknown) => error instanceof ConditionalCheckFailedException || (error as Error).name === "ConditionalCheckFailedException";

/** A key stored before scopes existed holds all three. */
const scopesOf = (item: Item): Scope[] => (item.scopes?.SS === undefined ? [...ALL_SCOPES] : ALL_SCOPES.filter((scope) => item.scopes!.SS!.includes(scope)));

function recordOf(item: Item): ApiKeyRecord {
  return {
    id: item.key_id!.S!,
    tenant: item.tenant!.S!,
    prefix: item.prefix!.S!,
    name: item.name!.S!,
    scopes: scopesOf(item),
    createdAtMs: Number(item.created_at!.N),
    revokedAtMs: item.revoked_at?.N === undefined ? null : Number(item.revoked_at.N),
  };
}

export function createDynamoApiKeys(options: { client: DynamoDBClient; tableName: string; now: () => number; newKey?: () => string; cacheMs?: number }): ApiKeyStore {
  const { client, tableName } = options;
  const cacheMs = options.cacheMs ?? API_KEY_CACHE_MS;
  const { now } = options;
  const newKey = options.newKey ?? (() => formatApiKey(randomBytes(16)));
  const cache = new Map<string, { principal: KeyPrincipal; untilMs: number }>();
  /** Keys named by tokens (tenant and key id) seen active, and until when that is trusted. */
  const activeUntil = new Map<string, number>();
  const lookupKey = (hash: string) => ({ pk: { S: apiKeyLookupKey(hash) }, sk: { S: API_KEY_SK } });
  const listingKey = (tenant: string, keyId: string) => ({ pk: { S: tenantKey(tenant) }, sk: { S: apiKeyListingKey(keyId) } });

  /** Writes an item unless it exists (storing a key again keeps what was stored, a revocation included); true when it wrote. */
  async function putNew(item: Item): Promise<boolean> {
    try {
      await client.send(new PutItemCommand({ TableName: tableName, Item: item, ConditionExpression: "attribute_not_exists(pk)" }));
      return true;
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
      return false;
    }
  }

  async function putKey(apiKey: string, tenant: string, name: string, scopes: readonly Scope[]): Promise<{ record: ApiKeyRecord; isNew: boolean }> {
    if (scopes.length === 0) throw new Error("an API key needs at least one scope");
    const hash = hashApiKey(apiKey);
    const keyId = keyIdOf(hash);
    const { Item: stored } = await client.send(new GetItemCommand({ TableName: tableName, Key: lookupKey(hash), ConsistentRead: true }));
    if (stored !== undefined && stored.tenant?.S !== tenant) throw new Error("this API key is already stored for another tenant");
    // A key stored before scopes existed keeps all three: its listing says so too.
    const kept = stored === undefined ? [...scopes] : scopesOf(stored);
    const fields: Item = { tenant: { S: tenant }, key_id: { S: keyId }, prefix: { S: visiblePrefix(apiKey) }, name: { S: name }, created_at: { N: String(now()) } };
    await putNew({ ...listingKey(tenant, keyId), ...fields, scopes: { SS: kept }, key_hash: { S: hash } });
    const isNew = await putNew({ ...lookupKey(hash), ...fields, scopes: { SS: kept } });
    if (isNew) return { record: recordOf({ ...fields, scopes: { SS: kept } }), isNew };
    // Stored already: fields there are kept (a revocation, the first creation time, the scopes or
    // their absence); a lookup item of an older sandbox that has only `tenant` and `name` gains the rest.
    const names = Object.keys(fields);
    try {
      const { Attributes } = await client.send(
        new UpdateItemCommand({
          TableName: tableName,
          Key: lookupKey(hash),
          UpdateExpression: `SET ${names.map((_, i) => `#f${i} = if_not_exists(#f${i}, :f${i})`).join(", ")}`,
          ConditionExpression: "tenant = :tenant",
          ExpressionAttributeNames: Object.fromEntries(names.map((name, i) => [`#f${i}`, name])),
          ExpressionAttributeValues: { ...Object.fromEntries(names.map((name, i) => [`:f${i}`, fields[name]!])), ":tenant": { S: tenant } },
          ReturnValues: "ALL_NEW",
        }),
      );
      return { record: recordOf(Attributes!), isNew };
    } catch (error) {
      if (isConditionFailure(error)) throw new Error("this API key is already stored for another tenant");
      throw error;
    }
  }

  async function markRevoked(key: Item, tenant: string, atMs: number): Promise<Item | null> {
    try {
      const { Attributes } = await client.send(
        new UpdateItemCommand({
          TableName: tableName,
          Key: key,
          UpdateExpression: "SET revoked_at = if_not_exists(revoked_at, :now)",
          ConditionExpression: "attribute_exists(pk) AND tenant = :tenant",
          ExpressionAttributeValues: { ":now": { N: String(atMs) }, ":tenant": { S: tenant } },
          ReturnValues: "ALL_NEW",
        }),
      );
      return Attributes ?? null;
    } catch (error) {
      if (isConditionFailure(error)) return null;
      throw error;
    }
  }

  return {
    async principalOf(apiKey) {
      const hash = hashApiKey(apiKey);
      const cached = cache.get(hash);
      if (cached !== undefined && cached.untilMs > now()) return cached.principal;
      cache.delete(hash);
      const { Item: item } = await client.send(new GetItemCommand({ TableName: tableName, Key: lookupKey(hash), ConsistentRead: true }));
      if (item === undefined || item.revoked_at !== undefined) return null;
      const principal: KeyPrincipal = { tenant: item.tenant!.S!, keyId: item.key_id?.S ?? keyIdOf(hash), scopes: scopesOf(item) };
      if (cache.size >= CACHE_ENTRIES) cache.delete(cache.keys().next().value!);
      cache.set(hash, { principal, untilMs: now() + cacheMs });
      return principal;
    },
    async revokedAt(apiKey) {
      const { Item: item } = await client.send(new GetItemCommand({ TableName: tableName, Key: lookupKey(hashApiKey(apiKey)), ConsistentRead: true }));
      return item?.revoked_at?.N === undefined ? null : Number(item.revoked_at.N);
    },
    async isActive(tenant, keyId, options = {}) {
      const id = `${tenant}\n${keyId}`;
      if (options.fresh !== true && (activeUntil.get(id) ?? 0) > now()) return true;
      activeUntil.delete(id);
      const { Item: listing } = await client.send(new GetItemCommand({ TableName: tableName, Key: listingKey(tenant, keyId), ConsistentRead: true }));
      if (listing === undefined || listing.revoked_at !== undefined) return false;
      // Revocation marks the lookup item first: a crash before the listing must not leave the key's tokens working.
      const { Item: lookup } = await client.send(new GetItemCommand({ TableName: tableName, Key: lookupKey(listing.key_hash!.S!), ConsistentRead: true }));
      if (lookup === undefined || lookup.revoked_at !== undefined) return false;
      if (activeUntil.size >= CACHE_ENTRIES) activeUntil.delete(activeUntil.keys().next().value!);
      activeUntil.set(id, now() + cacheMs);
      return true;
    },
    async create(tenant, name, scopes) {
      const apiKey = newKey();
      return { apiKey, record: (await putKey(apiKey, tenant, name, scopes)).record };
    },
    putKey,
    async list(tenant) {
      const items = await queryPartition(client, tableName, tenantKey(tenant), { prefix: API_KEY_LISTING_PREFIX, consistent: true });
      return items.map(recordOf).sort((a, b) => a.createdAtMs - b.createdAtMs || a.id.localeCompare(b.id));
    },
    async revoke(tenant, keyId) {
      const { Item: listing } = await client.send(new GetItemCommand({ TableName: tableName, Key: listingKey(tenant, keyId), ConsistentRead: true }));
      if (listing === undefined) return null;
      const hash = listing.key_hash!.S!;
      cache.delete(hash);
      activeUntil.delete(`${tenant}\n${keyId}`);
      // The lookup item first: from then on no lookup takes the key; the listing follows (a crash
      // between leaves a listing that says active, and revoking again completes it).
      const atMs = now();
      await markRevoked(lookupKey(hash), tenant, atMs);
      const revoked = await markRevoked(listingKey(tenant, keyId), tenant, atMs);
      return revoked === null ? null : recordOf(revoked);
    },
  };
}
