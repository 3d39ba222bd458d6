/**
 * No item grows with the job, in every dimension (docs/storage.md): job-level executions (a `per: "job"`
 * step, an import's inputs, a plan-less job's step names) live in job parts like originals do.
 * Each case goes through the real reducer and DynamoDB store (harness: support/scale.ts), checks
 * every item written stays under 400 KB, and that every report it sent was stored or refused with
 * a code.
 */
import { describe, expect, it } from "vitest";
import { executionCount } from "../core/estimator/executions.ts";
import { renderSnapshot } from "../core/estimator/snapshot.ts";
import { eventsOf, randomText, scaleHarness } from "./support/scale.ts";
import { seededRandom } from "./support/sqs-harness.ts";
import { rejectionsOf } from "./support/store.ts";
import { queryPartition } from "../functions/adapters/dynamo/query.ts";
import { headKey, jobKey } from "../functions/adapters/dynamo/keys.ts";
import { itemBytes } from "../functions/adapters/dynamo/items.ts";
import { GetItemCommand } from "@aws-sdk/client-dynamodb";

const applyThroughReducer = scaleHarness();
const LAMBDA_BATCH_BYTES = 6 * 1024 * 1024;
const letters = (i: number) => "abcdefghijklmnopqrstuvwxyz0123456789"[i]!;
/** The characters of an id (step names are ids): 64 of them, so that deflate gains little. */
const idCharacters = (i: number) => "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._"[i]!;

describe("every item of a job's job-level work stays under 400 KB", () => {
  it("12,000 in-flight reports on a per-job step in one reducer batch of 6 MB (the largest Lambda delivers)", async () => {
    const random = seededRandom(25);
    const e = eventsOf("scale-bundles");
    const events = [e("job.declared", { plan: { steps: { ":original": { robot: "/upload/handle" }, archive: { robot: "/file/compress", use: ":original", per: "job" } } } })];
    for (let i = 0; i < 12_000; i++) {
      events.push(e("step.progress", { step: "archive", input_id: `bundle-${i}`, attempt: 1, progress: [i, 12_000], unit: "Bytes", message: randomText(random, 300, letters, 36) }));
    }
    // One reducer batch: every envelope of the 12,000 reports at once.
    const { state, largestBatchBytes, store, jobId } = await applyThroughReducer("12,000 job-level reports in one 6 MB batch", events, 1_000);
    expect(largestBatchBytes).toBeGreaterThan(0.9 * LAMBDA_BATCH_BYTES);
    expect(largestBatchBytes).toBeLessThanOrEqual(LAMBDA_BATCH_BYTES);
    expect(executionCount(state.jobExecutions) + (await rejectionsOf(store, jobId)).length).toBe(12_000);
    expect(executionCount(state.jobExecutions)).toBe(12_000);
    expect(state.jobPartCount).toBeGreaterThan(1);
  }, 120_000);

  it("100,000 job-level inputs (an import's URLs)", async () => {
    const e = eventsOf("scale-imports");
    const events = [e("job.declared", { plan: { steps: { imported: { robot: "/http/import" }, stored: { robot: "/s3/store", use: "imported" } } } })];
    for (let i = 0; i < 100_000; i++) events.push(e("step.completed", { step: "imported", input_id: `url-${i}`, attempt: 1, result_count: 0 }));
    const { state } = await applyThroughReducer("100,000 job-level inputs", events);
    expect(executionCount(state.jobExecutions)).toBe(100_000);
    expect(renderSnapshot(state, { detail: true }).detail?.steps.find((step) => step.step === "imported")).toMatchObject({ completed: 100_000 });
  }, 240_000);

  it("a plan-less job with 4,000 step names of 120 characters, none of them in its head", async () => {
    const random = seededRandom(4);
    const e = eventsOf("scale-step-names");
    const events = [e("job.declared", {})];
    for (let i = 0; i < 4_000; i++) events.push(e("step.progress", { step: `s${String(i).padStart(4, "0")}-${randomText(random, 115, idCharacters, 64)}`, attempt: 1, progress: [1, 2] }));
    const { state, table, meta } = await applyThroughReducer("4,000 step names of 120 characters", events);
    expect(executionCount(state.jobExecutions)).toBe(4_000);
    // The head does not grow with the step names: it summarizes job parts by the plan's steps, and this job has no plan.
    const { Item: head } = await table.client.send(new GetItemCommand({ TableName: table.name, Key: { pk: { S: headKey(meta) }, sk: { S: "HEAD" } } }));
    expect(itemBytes(head!)).toBeLessThan(16 * 1024);
  }, 120_000);
});

describe("a record that cannot grow further is answered with a code, never by a write DynamoDB refuses", () => {
  it("refuses, as item_too_large, the reports that would grow one file's record past what an item holds, and stores the rest", async () => {
    const random = seededRandom(5);
    const e = eventsOf("scale-one-file");
    const events = [e("job.declared", {}), e("original.added", { original_id: "f1" })];
    // 4,000 steps of one file, each with a name of 120 random characters and a message of 200: far more than 400 KB in one record.
    const sent = 4_000;
    for (let i = 0; i < sent; i++) {
      events.push(e("step.progress", { step: `s${String(i).padStart(4, "0")}-${randomText(random, 115, letters, 36)}`, original_id: "f1", attempt: 1, progress: [1, 2], message: randomText(random, 200, letters, 36) }));
    }
    events.push(e("step.progress", { step: "s0000-late-but-small", original_id: "f2", attempt: 1, progress: [1, 2] }));
    const { state, table, meta } = await applyThroughReducer("4,000 steps of one file", events);
    const stored = executionCount(state.originals.get("f1")!.executions);
    // Every rejection kept under the job (a list answers a page of them: read them all here).
    const refused = (await queryPartition(table.client, table.name, jobKey(meta), { prefix: "REJ#", consistent: true })).map((item) => ({ code: item.code!.S!, reason: item.reason!.S! })).filter((rejection) => rejection.code === "item_too_large");
    expect(stored).toBeGreaterThan(1_000);
    expect(refused.length).toBeGreaterThan(0);
    expect(stored + refused.length).toBe(sent);
    expect(refused[0]!.reason).toMatch(/item_too_large|400 KB/);
    // The job goes on: the other file's report was stored.
    expect(executionCount(state.originals.get("f2")!.executions)).toBe(1);
  }, 240_000);
});
