/**
 * No item grows with the job (docs/storage.md, "Limits"), for indicators: every item written stays
 * under DynamoDB's 400 KB, and each case prints its largest item (harness: support/scale.ts). And an
 * accepted event is never silently lost: it is applied, or rejected with a reason the store keeps
 * for /rejections.
 */
import { describe, expect, it } from "vitest";
import { LIMITS } from "../core/contract/fields.ts";
import { seededRandom } from "./support/sqs-harness.ts";
import { eventsOf, randomText, scaleHarness } from "./support/scale.ts";
import { rejectionsOf } from "./support/store.ts";
import { ATTEMPTS, indicatorTotals, labelCount } from "../core/estimator/indicators.ts";
import { renderSnapshot } from "../core/estimator/snapshot.ts";
import { queryPartition } from "../functions/adapters/dynamo/query.ts";
import { jobKey } from "../functions/adapters/dynamo/keys.ts";

const applyThroughReducer = scaleHarness();

describe("every item of a big job's indicators stays under 400 KB", () => {
  it("1,000 labels of 100 non-ASCII characters, and the 1,001st refused", async () => {
    const random = seededRandom(1);
    const e = eventsOf("scale-labels");
    const cjk = (i: number) => String.fromCodePoint(0x4e00 + i);
    const events = [e("job.declared", {})];
    for (let i = 0; i < 1000; i++) events.push(e("indicator.reported", { label: randomText(random, 100, cjk, 20_000), task_id: "t", attempt: 1, added: 2, done: 1 }));
    events.push(e("indicator.reported", { label: randomText(random, 100, cjk, 20_000), task_id: "t", attempt: 1, added: 2, done: 1 }));
    const { state, store, jobId } = await applyThroughReducer("1,000 labels of 100 CJK characters", events);
    expect(labelCount(state)).toBe(LIMITS.labelsPerJob);
    expect(renderSnapshot(state).indicators).toHaveLength(1000);
    expect((await rejectionsOf(store, jobId, 10)).map((r) => r.code)).toEqual(["too_many_labels"]);
  }, 60_000);

  it("100,000 indicator tasks", async () => {
    const e = eventsOf("scale-tasks");
    const events = [e("job.declared", {})];
    for (let i = 0; i < 100_000; i++) events.push(e("indicator.reported", { label: i % 3 === 0 ? "tiles" : null, task_id: `task-${i}`, attempt: 1, added: 10, done: 4 }));
    const { state } = await applyThroughReducer("100,000 indicator tasks", events);
    // One tally per task, and each task's attempt index beside it.
    expect([...state.tasks.keys()].filter((key) => !key.startsWith(ATTEMPTS)).length).toBe(100_000);
    expect(state.tasks.size).toBe(200_000);
    expect(indicatorTotals(state)).toEqual({ added: 1_000_000, done: 400_000 });
  }, 120_000);

  it("40,000 delta events from one task: each applied or rejected with a reason, none lost", async () => {
    const e = eventsOf("scale-deltas");
    const events = [e("job.declared", {}), e("indicator.reported", { task_id: "busy", attempt: 1, added: 40_000, done: 0 })];
    const sent = 40_000;
    for (let i = 0; i < sent; i++) events.push(e("indicator.done", { task_id: "busy", attempt: 1, amount: 1 }));
    const { state, table, meta } = await applyThroughReducer("40,000 delta events from one task", events);
    const applied = indicatorTotals(state).done;
    const rejections = await queryPartition(table.client, table.name, jobKey(meta), { prefix: "REJ#" });
    const rejected = rejections.filter((item) => item.code?.S === "too_many_indicator_events");
    expect(applied).toBe(LIMITS.eventIdsPerTaskAttempt);
    expect(applied + rejected.length).toBe(sent);
    expect(rejections).toHaveLength(rejected.length);
    for (const item of rejected.slice(0, 10)) expect(item.reason?.S).toContain("indicator.reported");
    console.log(`40,000 delta events from one task: ${applied} applied + ${rejected.length} rejected as too_many_indicator_events = ${applied + rejected.length} sent`);
  }, 120_000);
});
