/**
 * The reaper: subscribed to the table's stream, it hears of every job head DynamoDB's TTL deleted
 * and removes everything else the job owned. Only the head expires (README, "Expiry"): a job's
 * parts have no expiry of their own, so that a job stays whole for as long as it is active
 * without any write touching the parts it did not change; when the head is gone, this takes the
 * rest. Until it has run, nothing of the expired job is read (an expired head reads as absent, and
 * a new job of the same id lives under a new incarnation). Records that are not the TTL deletion
 * of a head are ignored; a job that cannot be reaped fails the batch, which the stream retries.
 */
import type { DynamoDBRecord, DynamoDBStreamEvent } from "aws-lambda";
import type { JobMeta } from "../core/ports.ts";
import { HEAD, jobRefOfHeadKey } from "./adapters/dynamo/keys.ts";
import type { Log } from "./config.ts";

/** The job whose head a stream record says TTL deleted, or null for any other record. */
export function expiredJobOf(record: DynamoDBRecord): JobMeta | null {
  const isTtlDeletion = record.eventName === "REMOVE" && record.userIdentity?.type === "Service" && record.userIdentity.principalId === "dynamodb.amazonaws.com";
  const old = record.dynamodb?.OldImage;
  if (!isTtlDeletion || old?.sk?.S !== HEAD || old.inc?.S === undefined) return null;
  const ref = jobRefOfHeadKey(old.pk?.S ?? "");
  return ref === null ? null : { ...ref, incarnation: old.inc.S, createdAtMs: Number(old.created_at?.N ?? 0) };
}

export function createReaper(deps: { store: { forget(meta: JobMeta): Promise<number> }; log: Log }): (event: DynamoDBStreamEvent) => Promise<{ jobs: number; items: number }> {
  return async (event) => {
    let jobs = 0;
    let items = 0;
    for (const record of event.Records) {
      const meta = expiredJobOf(record);
      if (meta === null) continue;
      const removed = await deps.store.forget(meta);
      deps.log("info", "expired job reaped", { tenant: meta.tenant, job_id: meta.jobId, incarnation: meta.incarnation, items: removed });
      jobs++;
      items += removed;
    }
    return { jobs, items };
  };
}
