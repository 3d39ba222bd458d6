import { describe, expect, it } from "vitest";
import fc from "fast-check";
import type { Event } from "../core/contract/events.ts";
import {
  decodeHead,
  encodeBucket,
  encodeGroups,
  encodeHead,
  encodeJobParts,
  encodeParts,
  encodeTaskParts,
  growOriginals,
  growTasks,
  loadBucket,
  loadGroup,
  loadJobPart,
  loadPart,
  loadTaskPart,
} from "../core/storage/codec.ts";
import { reduce } from "../core/estimator/reduce.ts";
import { indicatorTotals } from "../core/estimator/indicators.ts";
import { groupOf, splitSource } from "../core/estimator/partition.ts";
import { refreshEstimates, totalsOf } from "../core/estimator/progress.ts";
import { renderSnapshot } from "../core/estimator/snapshot.ts";
import { createJobState, emptyStepLeft, STEP_LEFT_FIELDS, type Totals, type WorkLeft } from "../core/estimator/state.ts";
import { jobPartsTouchedBy, labelBucketsTouchedBy, partsLinkedBy, partsTouchedBy, taskPartsTouchedBy } from "../core/storage/touched.ts";
import { growJobParts, jobPartSummaries } from "../core/estimator/job-executions.ts";
import { eventFactory, VIDEO_PLAN } from "./support/events.ts";
import { fold } from "./support/fold.ts";
import { worldArbitrary } from "./support/worlds.ts";

const BASE_MS = Date.parse("2026-11-22T10:00:00.000Z");

/**
 * An in-memory item store: what the real store does (core/storage/touched.ts, core/storage/codec.ts), minus
 * DynamoDB, with splits by record count instead of bytes so that small jobs split often.
 */
function itemStore(maxRecords: number) {
  const items = new Map<string, string>();
  const get = <T>(key: string): T | null => {
    const text = items.get(key);
    return text === undefined ? null : (JSON.parse(text) as T);
  };
  return {
    items,
    /** Loads head + the items the batch touches, applies, commits, splits, writes back what it loaded. */
    applyBatch(jobId: string, batch: Event[], nowMs: number, partCount: number) {
      const headText = items.get("head");
      const state = headText === undefined ? createJobState(jobId, { partCount }) : decodeHead(JSON.parse(headText));
      const storedPartCount = state.partCount;
      const buckets = labelBucketsTouchedBy(batch);
      for (const bucket of buckets) loadBucket(state, bucket, get(`l${bucket}`));
      const touched = partsTouchedBy(state, batch);
      const parts = new Set(touched.parts);
      const groups = new Set(touched.groups);
      for (const group of groups) loadGroup(state, group, get(`g${group}`));
      for (const part of parts) loadPart(state, part, get(`p${part}`));
      const taskParts = taskPartsTouchedBy(state, batch);
      for (const [bucket, which] of taskParts) for (const part of which) loadTaskPart(state, bucket, part, get(`t${bucket}.${part}`));
      const jobParts = new Set(state.loadedJobParts);
      for (const part of jobPartsTouchedBy(state, batch)) {
        if (!jobParts.has(part)) loadJobPart(state, part, get(`j${part}`));
        jobParts.add(part);
      }
      // As the store does: reports naming only their input follow its link to the original's part.
      for (const part of partsLinkedBy(state, batch)) {
        if (parts.has(part)) continue;
        const group = groupOf(part);
        if (group > 0 && !groups.has(group)) {
          loadGroup(state, group, get(`g${group}`));
          groups.add(group);
        }
        loadPart(state, part, get(`p${part}`));
        parts.add(part);
      }
      reduce(state, batch, nowMs);
      for (let splits = 0; splits < 6 && [...encodeParts(state, parts).values()].some((code) => code.originals.length > maxRecords); splits++) {
        const target = state.partCount;
        const source = splitSource(target);
        for (const group of [groupOf(source), groupOf(target)]) {
          if (group > 0 && !groups.has(group)) {
            loadGroup(state, group, group <= groupOf(storedPartCount - 1) ? get(`g${group}`) : null);
            groups.add(group);
          }
        }
        if (!parts.has(source)) {
          loadPart(state, source, get(`p${source}`));
          parts.add(source);
          refreshEstimates(state);
        }
        growOriginals(state);
        parts.add(target);
      }
      for (const [bucket, which] of taskParts) {
        for (let splits = 0; splits < 6 && [...encodeTaskParts(state, bucket, which).values()].some((code) => code.tasks.length > maxRecords); splits++) {
          const source = splitSource(state.labelBuckets.get(bucket)!.taskPartCount);
          if (!which.has(source)) {
            loadTaskPart(state, bucket, source, get(`t${bucket}.${source}`));
            which.add(source);
          }
          which.add(growTasks(state, bucket).target);
        }
      }
      for (let splits = 0; splits < 6 && [...encodeJobParts(state, jobParts).values()].some((code) => code.executions.length > maxRecords); splits++) {
        const source = splitSource(state.jobPartCount);
        if (!jobParts.has(source)) {
          loadJobPart(state, source, get(`j${source}`));
          jobParts.add(source);
        }
        jobParts.add(growJobParts(state, source));
      }
      for (const [part, code] of encodeJobParts(state, jobParts)) items.set(`j${part}`, JSON.stringify(code));
      for (const [part, code] of encodeParts(state, parts)) items.set(`p${part}`, JSON.stringify(code));
      for (const [group, code] of encodeGroups(state, groups)) items.set(`g${group}`, JSON.stringify(code));
      for (const bucket of buckets) items.set(`l${bucket}`, JSON.stringify(encodeBucket(state, bucket)));
      for (const [bucket, which] of taskParts) for (const [part, code] of encodeTaskParts(state, bucket, which)) items.set(`t${bucket}.${part}`, JSON.stringify(code));
      items.set("head", JSON.stringify(encodeHead(state)));
    },
    /** The job's figures as the head alone has them (copies), and as the leaves have them. */
    figures() {
      const head = decodeHead(JSON.parse(items.get("head")!));
      const whole = this.load();
      const round = ({ left: _left, ...t }: Totals) => Object.fromEntries(Object.entries(t).map(([key, value]) => [key, Math.round(value * 1e6) / 1e6]));
      const jobSummaries = (state: typeof head) => [...jobPartSummaries(state)].filter(([, summary]) => summary.executions > 0).sort((a, b) => a[0] - b[0]);
      return {
        fromHead: { totals: round(totalsOf(head)), indicators: indicatorTotals(head), jobParts: jobSummaries(head) },
        fromLeaves: { totals: round(totalsOf(whole)), indicators: indicatorTotals(whole), jobParts: jobSummaries(whole) },
        leftFromHead: totalsOf(head).left,
        leftFromLeaves: totalsOf(whole).left,
      };
    },
    snapshot(jobId: string) {
      const state = this.load();
      expect(state.jobId).toBe(jobId);
      return renderSnapshot(state, { detail: true });
    },
    load() {
      const state = decodeHead(JSON.parse(items.get("head")!));
      state.partTotals.clear();
      state.labelBucketTotals.clear();
      for (const [key, text] of items) if (key.startsWith("l")) loadBucket(state, Number(key.slice(1)), JSON.parse(text));
      for (const bucket of state.labelBuckets.values()) bucket.taskSums.clear();
      for (const [key, text] of items) {
        if (key.startsWith("p") && Number(key.slice(1)) < state.partCount) loadPart(state, Number(key.slice(1)), JSON.parse(text));
        if (key.startsWith("t")) {
          const [bucket, part] = key.slice(1).split(".").map(Number) as [number, number];
          if (part < state.labelBuckets.get(bucket)!.taskPartCount) loadTaskPart(state, bucket, part, JSON.parse(text));
        }
      }
      for (let part = 0; part < state.jobPartCount; part++) if (!state.loadedJobParts.has(part)) loadJobPart(state, part, get(`j${part}`));
      refreshEstimates(state);
      return state;
    },
  };
}

/** The ETA's view of the work left, as the head's copies and as the leaves sum it: equal but for floating-point order (steps whose sums are all 0 may be absent). */
function expectSameWorkLeft(fromHead: WorkLeft, fromLeaves: WorkLeft): void {
  const near = (a: number, b: number) => Math.abs(a - b) <= 1e-6 * Math.max(1, Math.abs(a), Math.abs(b));
  const empty = emptyStepLeft();
  expect(near(fromHead.open, fromLeaves.open) && near(fromHead.openSinceMs, fromLeaves.openSinceMs)).toBe(true);
  for (const field of ["sizedFiles", "sizedFileBytes", "sizedFileSquares"] as const) expect(near(fromHead[field], fromLeaves[field]), `${field}: ${fromHead[field]} vs ${fromLeaves[field]}`).toBe(true);
  for (const step of new Set([...fromHead.steps.keys(), ...fromLeaves.steps.keys()])) {
    const a = fromHead.steps.get(step) ?? empty;
    const b = fromLeaves.steps.get(step) ?? empty;
    for (const field of STEP_LEFT_FIELDS) expect(near(a[field], b[field]), `${step}.${field}: ${a[field]} vs ${b[field]}`).toBe(true);
  }
}

describe("storage codec", () => {
  it("gives the same snapshots, and head copies equal to the leaves, when each batch loads only the items it touches, splits parts and writes them back", () => {
    const MIMES = ["video/mp4", "image/png", "application/zip"];
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.constantFrom("thumbs", "encoded", "resized", "stored", "unzipped", "archive"), fc.nat(9), fc.nat(100), fc.constantFrom("progress", "completed", "failed", "done", "added"), fc.integer({ min: 1, max: 2 })), { maxLength: 60 }),
        fc.constantFrom(1, 2, 3, 8, 300, 700),
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 1, max: 7 }),
        (reports, partCount, maxRecords, batchSize) => {
          const e = eventFactory("job-c");
          const events: Event[] = [e.plan(VIDEO_PLAN)];
          for (let i = 0; i < 10; i++) events.push(e.original(`f${i}`, MIMES[i % 3]!));
          events.push(e.sealed());
          for (const [step, original, amount, kind, attempt] of reports) {
            // Job-level (archive) reports name no original: most no input either, some one of a few inputs, so that job parts split too.
            const where = step === "archive" ? undefined : `f${original}`;
            const input = step === "archive" && original > 4 ? { input_id: `bundle-${original}` } : {};
            // Some reports count bytes: the file's size then feeds the ETA's work left.
            const unit = amount % 3 === 0 ? { unit: "Bytes" } : {};
            if (kind === "progress") events.push(e.progress(step, where, [amount, 100], { attempt, ...input, ...unit }));
            if (kind === "completed") events.push(e.completed(step, where, { attempt, result_count: amount % 3, ...input }));
            if (kind === "failed") events.push(e.failed(step, where, amount % 2 === 0, { attempt, ...input }));
            if (kind === "added") events.push(e.added(amount, `t${original}`, { attempt, label: original % 2 ? "a" : null }));
            if (kind === "done") events.push(e.done(amount, `t${original}`, { attempt, label: original % 2 ? "a" : null }));
          }
          const batches: Event[][] = [];
          for (let i = 0; i < events.length; i += batchSize) batches.push(events.slice(i, i + batchSize));
          const store = itemStore(maxRecords);
          batches.forEach((batch, index) => {
            store.applyBatch("job-c", batch, BASE_MS + index * 1000, partCount);
            const { fromHead, fromLeaves, leftFromHead, leftFromLeaves } = store.figures();
            expect(fromHead).toEqual(fromLeaves);
            expectSameWorkLeft(leftFromHead, leftFromLeaves);
          });
          expect(store.snapshot("job-c")).toEqual(renderSnapshot(fold(batches, "job-c"), { detail: true }));
        },
      ),
      { seed: 7, numRuns: 200 },
    );
  });

  it("gives the same snapshots when reports name only their input and their original lives in another part", () => {
    fc.assert(
      fc.property(worldArbitrary, fc.integer({ min: 2, max: 16 }), fc.integer({ min: 1, max: 7 }), fc.integer({ min: 1, max: 4 }), (world, partCount, batchSize, maxRecords) => {
        const events = [world.declared, ...world.log];
        const batches: Event[][] = [];
        for (let i = 0; i < events.length; i += batchSize) batches.push(events.slice(i, i + batchSize));
        const store = itemStore(maxRecords);
        batches.forEach((batch, index) => store.applyBatch("job-w", batch, BASE_MS + index * 1000, partCount));
        expect(store.snapshot("job-w")).toEqual(renderSnapshot(fold(batches, "job-w"), { detail: true }));
      }),
      { seed: 11, numRuns: 300 },
    );
  });
});
