import { describe, expect, it } from "vitest";
import fc from "fast-check";
import type { Event } from "../core/contract.ts";
import { decodeHead, encodeHead, encodeParts, encodeTaskParts, loadPart, loadTaskPart } from "../core/codec.ts";
import { reduce } from "../core/estimator.ts";
import { refreshEstimates } from "../core/progress.ts";
import { renderSnapshot } from "../core/snapshot.ts";
import { createJobState } from "../core/state.ts";
import { partsLinkedBy, partsTouchedBy } from "../core/touched.ts";
import { eventFactory, VIDEO_PLAN } from "./support/events.ts";
import { fold } from "./support/fold.ts";
import { worldArbitrary } from "./support/worlds.ts";

const BASE_MS = Date.parse("2026-11-22T10:00:00.000Z");

/** An in-memory item store: what a real store does, minus DynamoDB. */
function itemStore() {
  const items = new Map<string, string>();
  return {
    items,
    /** Loads head + the parts the batch touches, applies, commits, writes back what it loaded. */
    applyBatch(jobId: string, batch: Event[], nowMs: number, partCount: number, taskPartCount: number) {
      const headText = items.get("head");
      const state = headText === undefined ? createJobState(jobId, { partCount, taskPartCount }) : decodeHead(JSON.parse(headText));
      const touched = partsTouchedBy(state, batch);
      const parts = touched.isEverything ? [...Array(state.partCount).keys()] : [...touched.parts];
      const load = (part: number) => {
        const text = items.get(`p${part}`);
        if (text !== undefined) loadPart(state, part, JSON.parse(text));
      };
      parts.forEach(load);
      for (const part of partsLinkedBy(state, batch)) {
        if (parts.includes(part)) continue;
        parts.push(part);
        load(part);
      }
      for (const part of touched.taskParts) {
        const text = items.get(`t${part}`);
        if (text !== undefined) loadTaskPart(state, part, JSON.parse(text));
      }
      reduce(state, batch, nowMs);
      for (const [part, code] of encodeParts(state, parts)) items.set(`p${part}`, JSON.stringify(code));
      for (const [part, code] of encodeTaskParts(state, [...touched.taskParts])) items.set(`t${part}`, JSON.stringify(code));
      items.set("head", JSON.stringify(encodeHead(state)));
    },
    snapshot(jobId: string) {
      const state = decodeHead(JSON.parse(items.get("head")!));
      for (const [key, text] of items) {
        if (key.startsWith("p")) loadPart(state, Number(key.slice(1)), JSON.parse(text));
        if (key.startsWith("t")) loadTaskPart(state, Number(key.slice(1)), JSON.parse(text));
      }
      expect(state.jobId).toBe(jobId);
      refreshEstimates(state);
      return renderSnapshot(state, { detail: true });
    },
  };
}

describe("storage codec", () => {
  it("gives the same snapshots when each batch loads only the parts it touches and writes them back", () => {
    const MIMES = ["video/mp4", "image/png", "application/zip"];
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.constantFrom("thumbs", "encoded", "resized", "stored", "unzipped", "archive"), fc.nat(9), fc.nat(100), fc.constantFrom("progress", "completed", "failed", "done", "added"), fc.integer({ min: 1, max: 2 })), { maxLength: 60 }),
        fc.integer({ min: 1, max: 8 }),
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 1, max: 7 }),
        (reports, partCount, taskPartCount, batchSize) => {
          const e = eventFactory("job-c");
          const events: Event[] = [e.plan(VIDEO_PLAN)];
          for (let i = 0; i < 10; i++) events.push(e.original(`f${i}`, MIMES[i % 3]!));
          events.push(e.sealed());
          for (const [step, original, amount, kind, attempt] of reports) {
            const where = step === "archive" ? undefined : `f${original}`;
            if (kind === "progress") events.push(e.progress(step, where, [amount, 100], { attempt }));
            if (kind === "completed") events.push(e.completed(step, where, { attempt, result_count: amount % 3 }));
            if (kind === "failed") events.push(e.failed(step, where, amount % 2 === 0, { attempt }));
            if (kind === "added") events.push(e.added(amount, `t${original}`, { attempt, label: original % 2 ? "a" : null }));
            if (kind === "done") events.push(e.done(amount, `t${original}`, { attempt, label: original % 2 ? "a" : null }));
          }
          const batches: Event[][] = [];
          for (let i = 0; i < events.length; i += batchSize) batches.push(events.slice(i, i + batchSize));
          const store = itemStore();
          batches.forEach((batch, index) => store.applyBatch("job-c", batch, BASE_MS + index * 1000, partCount, taskPartCount));
          expect(store.snapshot("job-c")).toEqual(renderSnapshot(fold(batches, "job-c"), { detail: true }));
        },
      ),
      { seed: 7, numRuns: 200 },
    );
  });

  it("gives the same snapshots when reports name only their input and their original lives in another part", () => {
    fc.assert(
      fc.property(worldArbitrary, fc.integer({ min: 2, max: 16 }), fc.integer({ min: 1, max: 7 }), (world, partCount, batchSize) => {
        const events = [world.declared, ...world.log];
        const batches: Event[][] = [];
        for (let i = 0; i < events.length; i += batchSize) batches.push(events.slice(i, i + batchSize));
        const store = itemStore();
        batches.forEach((batch, index) => store.applyBatch("job-w", batch, BASE_MS + index * 1000, partCount, 2));
        expect(store.snapshot("job-w")).toEqual(renderSnapshot(fold(batches, "job-w"), { detail: true }));
      }),
      { seed: 11, numRuns: 300 },
    );
  });
});
