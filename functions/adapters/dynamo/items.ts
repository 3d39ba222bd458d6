/**
 * What the DynamoDB adapters' items look like beyond their keys (keys.ts): bodies (deflated above
 * 1 KB, since WCU are billed per KB of the whole item), their billed size, expiry, a job's meta as
 * its head stores it, and the bounded runner the store writes with.
 */
import type { AttributeValue } from "@aws-sdk/client-dynamodb";
import { deflateRawSync, inflateRawSync } from "node:zlib";
import { StoreConflict } from "../../../core/errors.ts";
import type { JobMeta, JobRef } from "../../../core/ports.ts";

export type Item = Record<string, AttributeValue>;

const COMPRESS_ABOVE_BYTES = 1024;

/** A job's identity as its head stores it. */
export function metaOf(ref: JobRef, head: Item): JobMeta {
  return { tenant: ref.tenant, jobId: ref.jobId, incarnation: head.inc!.S!, createdAtMs: Number(head.created_at!.N) };
}

/** The bytes an item body takes once stored (deflated above COMPRESS_ABOVE_BYTES). */
export function storedBytes(body: string): number {
  return body.length <= COMPRESS_ABOVE_BYTES ? Buffer.byteLength(body) : deflateRawSync(body).length;
}

export function encodeBody(body: string): Item {
  if (body.length <= COMPRESS_ABOVE_BYTES) return { d: { S: body } };
  return { z: { B: deflateRawSync(body) } };
}

export function decodeBody(item: Item): string {
  if (item.d?.S !== undefined) return item.d.S;
  const compressed = item.z?.B;
  if (compressed === undefined) throw new Error(`item ${item.pk?.S}/${item.sk?.S} has no body`);
  return inflateRawSync(compressed).toString("utf8");
}

/** Whether an item's TTL has passed (DynamoDB deletes expired items only eventually, so reads must look). */
export function isExpired(item: Item, nowMs: number): boolean {
  return Number(item.expires_at?.N ?? Infinity) * 1000 < nowMs;
}

/** Read units of a strongly consistent read of this item, as DynamoDB bills them: 1 per 4 KB, rounded up. */
export function readUnitsOf(item: Item): number {
  return Math.max(1, Math.ceil(itemBytes(item) / 4096));
}

/** Item size as DynamoDB bills it: attribute names plus values. */
export function itemBytes(item: Item): number {
  let bytes = 0;
  for (const [name, value] of Object.entries(item)) {
    bytes += Buffer.byteLength(name);
    if (value.S !== undefined) bytes += Buffer.byteLength(value.S);
    else if (value.N !== undefined) bytes += value.N.length;
    else if (value.B !== undefined) bytes += value.B.length;
  }
  return bytes;
}

/** Runs tasks a few at a time; after the first failure starts no more (a lost race makes the rest moot). */
export async function runBounded(tasks: (() => Promise<void>)[], concurrency: number): Promise<void> {
  let next = 0;
  const errors: unknown[] = [];
  const worker = async () => {
    while (next < tasks.length && errors.length === 0) {
      const task = tasks[next++]!;
      try {
        await task();
      } catch (error) {
        errors.push(error);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, tasks.length) }, worker));
  if (errors.length > 0) throw errors.find((error) => error instanceof StoreConflict) ?? errors[0];
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

