/**
 * Scale tests' harness: a job applied through the real reducer and DynamoDB store (dynalite), in
 * envelopes of 500 events (fewer where an envelope would pass SQS's size) and reducer batches of
 * 20 envelopes, in a table of its own; prints the largest item written and checks it is under
 * DynamoDB's 400 KB.
 */
import { afterAll, beforeAll, expect } from "vitest";
import type { Event } from "../../core/contract/events.ts";
import type { JobState } from "../../core/estimator/state.ts";
import { createDynamoStore } from "../../functions/adapters/dynamo/store.ts";
import { envelopesOf } from "../../core/contract/envelopes.ts";
import { readJob } from "./store.ts";
import { createReducerHandler } from "../../functions/reducer/index.ts";
import { newTable, startDynalite, type TestTable } from "./dynamo.ts";
import { recordOf } from "./sqs-harness.ts";

export const ITEM_LIMIT_BYTES = 400 * 1024;
const EVENTS_PER_ENVELOPE = 500;
const ENVELOPES_PER_BATCH = 20;

export function eventsOf(jobId: string) {
  let sequence = 0;
  const at = Date.parse("2026-11-22T10:00:00.000Z");
  return <T extends Event["type"]>(type: T, fields: Omit<Extract<Event, { type: T }>, "v" | "type" | "job_id" | "event_id" | "at">): Event => {
    sequence++;
    return { v: 1, type, job_id: jobId, event_id: `e${sequence}`, at: new Date(at + sequence).toISOString(), ...fields } as Event;
  };
}

/** Sends the declaration alone, then the rest in envelopes of 500, 20 envelopes per reducer batch (or as many as given); returns the job as stored. */
export async function applyThroughReducer(endpoint: string, tables: TestTable[], caseName: string, events: Event[], envelopesPerBatch = ENVELOPES_PER_BATCH) {
  const started = performance.now();
  const table = await newTable(endpoint);
  tables.push(table);
  const store = createDynamoStore({ client: table.client, tableName: table.name, now: Date.now });
  const handler = createReducerHandler({
    store,
    changeFeed: store.changeFeed,
    rejections: store.rejections,
    delayMessage: async () => {},
    log: () => {},
    now: Date.now,
    defaultTenant: "default",
    maxReceiveCount: 1000,
    pendingUnknownJobSeconds: 3600,
  });
  const [declared, ...rest] = events;
  const bodies = [JSON.stringify(declared)];
  for (let i = 0; i < rest.length; i += EVENTS_PER_ENVELOPE) bodies.push(...envelopesOf(rest.slice(i, i + EVENTS_PER_ENVELOPE)).map((message) => JSON.stringify(message)));
  let messageId = 0;
  const batches = [[bodies[0]!]];
  for (let i = 1; i < bodies.length; i += envelopesPerBatch) batches.push(bodies.slice(i, i + envelopesPerBatch));
  for (const batch of batches) {
    const response = await handler({ Records: batch.map((body) => recordOf({ body, messageId: `m${messageId++}`, receives: 1, sentMs: Date.now() })) });
    expect(response.batchItemFailures).toEqual([]);
  }
  const jobId = declared!.job_id;
  const loaded = await readJob(store, jobId);
  const { metrics } = store;
  const largestBatchBytes = Math.max(...batches.map((batch) => batch.reduce((sum, body) => sum + Buffer.byteLength(body), 0)));
  console.log(
    `${caseName}: largest item ${metrics.maxItemBytes} bytes (${metrics.maxItemKey}); ${events.length} events, ${metrics.writes} writes, ` +
      `${metrics.splits} splits, ${loaded.state.partCount} parts of originals, ${loaded.state.jobPartCount} job parts, largest batch ${largestBatchBytes} bytes, ${((performance.now() - started) / 1000).toFixed(1)} s`,
  );
  expect(metrics.maxItemBytes).toBeLessThan(ITEM_LIMIT_BYTES);
  return { store, table, jobId, meta: loaded.meta, state: loaded.state as JobState, largestBatchBytes };
}

/** Text that deflate cannot shrink much: random characters from `alphabet`. */
export function randomText(random: () => number, length: number, alphabet: (i: number) => string, size: number): string {
  let text = "";
  for (let i = 0; i < length; i++) text += alphabet(Math.floor(random() * size));
  return text;
}

/** A dynalite of the test file's own (started before its tests, closed after) and the apply function bound to it. */
export function scaleHarness(): (caseName: string, events: Event[], envelopesPerBatch?: number) => ReturnType<typeof applyThroughReducer> {
  let emulator: { endpoint: string; close(): Promise<void> } | undefined;
  const tables: TestTable[] = [];
  beforeAll(async () => {
    emulator = await startDynalite({ port: 0 });
  });
  afterAll(async () => {
    for (const table of tables) await table.close();
    await emulator?.close();
  });
  return (caseName, events, envelopesPerBatch) => applyThroughReducer(emulator!.endpoint, tables, caseName, events, envelopesPerBatch);
}
