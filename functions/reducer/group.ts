/**
 * A batch's messages read and grouped by job: each message parsed inside its own guard (whatever
 * its bytes, a message is judged alone), its tenant read from the `tenant` message attribute (the
 * queue is trusted through IAM; `defaultTenant` when absent), its valid events grouped under
 * (tenant, job), its refused ones kept for reject.ts.
 */
import type { SQSRecord } from "aws-lambda";
import type { ParsedMessage } from "../../core/contract/ingest.ts";
import { excerptOf, type Rejection } from "../../core/contract/rejection.ts";
import type { ErrorCode } from "../../core/errors.ts";
import type { Batch, JobGroup, Reducer } from "./context.ts";

/** A message with refused input, and the tenant it came from. */
export interface RefusedMessage {
  record: SQSRecord;
  tenant: string;
  rejections: readonly Rejection[];
}

/** Tenant names, like job ids, are 1–128 characters of `[A-Za-z0-9._:-]` (no `#`: storage keys join them with it). */
const TENANT_NAME = /^[A-Za-z0-9._:-]{1,128}$/;

/** The tenant a message names, or null when it is not a tenant name. */
function tenantOf(reducer: Reducer, record: SQSRecord): string | null {
  const tenant = record.messageAttributes?.tenant?.stringValue ?? reducer.deps.defaultTenant;
  return TENANT_NAME.test(tenant) ? tenant : null;
}

/** One message's events, never a throw. */
function parseRecord(reducer: Reducer, batch: Batch, record: SQSRecord): ParsedMessage {
  try {
    return reducer.parse(record.body);
  } catch (error) {
    batch.log("error", "message could not be parsed", { message_id: record.messageId, error: String(error) });
    const message = `Headway could not validate this message (${String(error).slice(0, 200)})`;
    return { isEnvelope: false, events: [], rejections: [{ code: "invalid_event", message, jobId: null, excerpt: excerptOf(record.body) }] };
  }
}

export function groupRecords(reducer: Reducer, batch: Batch, records: readonly SQSRecord[]): { groups: Map<string, JobGroup>; refused: RefusedMessage[] } {
  const groups = new Map<string, JobGroup>();
  const refused: RefusedMessage[] = [];
  for (const record of records) {
    const tenant = tenantOf(reducer, record);
    if (tenant === null) {
      // Logged and counted only: a tenant that is not valid has no log to keep it in.
      const code: ErrorCode = "invalid_tenant";
      batch.log("warn", "message rejected: its tenant attribute is not a tenant name", { code, message_id: record.messageId, excerpt: excerptOf(record.body) });
      reducer.metrics.count("EventsRejected", 1, { code });
      batch.rejected++;
      continue;
    }
    const { events, rejections } = parseRecord(reducer, batch, record);
    if (rejections.length > 0) refused.push({ record, tenant, rejections });
    for (const parsed of events) {
      const key = `${tenant}#${parsed.job_id}`;
      let group = groups.get(key);
      if (group === undefined) groups.set(key, (group = { ref: { tenant, jobId: parsed.job_id }, entries: [] }));
      const last = group.entries.at(-1);
      if (last?.record === record) last.events.push(parsed);
      else group.entries.push({ record, events: [parsed] });
    }
  }
  return { groups, refused };
}
