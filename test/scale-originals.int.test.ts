/**
 * No item grows with the job (docs/storage.md, "Limits"), for originals: every item written stays
 * under DynamoDB's 400 KB, and each case prints its largest item (harness: support/scale.ts).
 * The indicator cases are in scale-indicators.int.test.ts (two files, so that they run in parallel).
 */
import { describe, expect, it } from "vitest";
import { LIMITS } from "../core/contract/fields.ts";
import { seededRandom } from "./support/sqs-harness.ts";
import { eventsOf, randomText, scaleHarness } from "./support/scale.ts";
import { totalsOf } from "../core/estimator/progress.ts";
import { renderSnapshot } from "../core/estimator/snapshot.ts";

const applyThroughReducer = scaleHarness();

const STORE_PLAN = { steps: { stored: { robot: "/s3/store", use: ":original" } } };

describe("every item of a big job's originals stays under 400 KB", () => {
  it("100,000 originals whose count was never announced", async () => {
    const e = eventsOf("scale-originals");
    const events = [e("job.declared", { plan: STORE_PLAN })];
    for (let i = 0; i < 100_000; i++) events.push(e("original.added", { original_id: `o${i}`, mime: "image/png" }));
    events.push(e("originals.sealed", {}));
    const { state } = await applyThroughReducer("100,000 originals (unannounced)", events);
    expect(state.originals.size).toBe(100_000);
    expect(totalsOf(state).originals).toBe(100_000);
  }, 120_000);

  it("5,000 executions known only by input_id", async () => {
    const e = eventsOf("scale-inputs");
    const events = [e("job.declared", { plan: { steps: { thumbs: { robot: "/image/resize", use: ":original" } } } })];
    for (let i = 0; i < 5_000; i++) {
      events.push(e("step.started", { step: "thumbs", input_id: `input-${i}`, attempt: 1 }));
      events.push(e("step.completed", { step: "thumbs", input_id: `input-${i}`, attempt: 1, result_count: 1 }));
    }
    await applyThroughReducer("5,000 executions known only by input_id", events);
  }, 60_000);

  // 3,000 × 4 KB is 12 MB of errors, 30 times an item's limit: enough to split into hundreds of
  // parts. (It was 10,000: 35 s of dynalite writes alone, past its two-minute limit on a busy
  // machine in .ci/flake-hunt, while proving no more than this does.)
  it("3,000 failed files with 4 KB errors", async () => {
    const random = seededRandom(2);
    const e = eventsOf("scale-failures");
    const base64 = (i: number) => "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"[i]!;
    const events = [e("job.declared", { plan: STORE_PLAN })];
    for (let i = 0; i < 3_000; i++) {
      events.push(e("original.added", { original_id: `f${i}`, mime: "image/png" }));
      events.push(e("step.failed", { step: "stored", original_id: `f${i}`, attempt: 1, error: randomText(random, LIMITS.errorChars, base64, 64), will_retry: false }));
    }
    const { state } = await applyThroughReducer("3,000 failed files with 4 KB errors", events);
    expect(renderSnapshot(state).progress_per_original_file.filter((file) => file.status === "failed")).toHaveLength(3_000);
  }, 120_000);
});
