/** A job's progress history as the estimator keeps it: one point per commit, stored with the head, shown by GET's detail. */
import { describe, expect, it } from "vitest";
import { decodeHead, encodeHead } from "../core/storage/codec.ts";
import type { Event } from "../core/contract/events.ts";
import { reduce } from "../core/estimator/reduce.ts";
import { renderSnapshot } from "../core/estimator/snapshot.ts";
import { createJobState } from "../core/estimator/state.ts";
import { eventFactory } from "./support/events.ts";

const T0 = Date.parse("2026-11-22T10:00:00.000Z");

function runJob() {
  const state = createJobState("history");
  const e = eventFactory("history", T0);
  const commits: [number, Event[]][] = [
    [T0 + 1_000, [e.plan({ encoded: { robot: "/video/encode", use: ":original" } }, { expect_originals: 1 }), e.original("f1", "video/mp4"), e.sealed()]],
    [T0 + 11_000, [e.progress("encoded", "f1", [25, 100])]],
    [T0 + 21_000, [e.progress("encoded", "f1", [50, 100])]],
    [T0 + 31_000, [e.failed("encoded", "f1", true)]], // a retry: true progress falls, the display holds
    [T0 + 41_000, [e.completed("encoded", "f1", { attempt: 2 }), e.jobCompleted()]],
  ];
  const shown: (number | null)[] = [];
  for (const [atMs, events] of commits) {
    // The producers report at the moment of each commit (the ETA reads their times).
    reduce(state, events.map((event) => ({ ...event, at: new Date(atMs).toISOString() })), atMs);
    shown.push(renderSnapshot(state).progress_combined);
  }
  return { state, shown };
}

describe("the progress history", () => {
  it("has a point per commit with its time, the figure a snapshot then showed, and the ETA then", () => {
    const { state, shown } = runJob();
    const history = renderSnapshot(state, { detail: true, history: true }).detail!.history!;
    expect(history.map((point) => point.at)).toEqual(["10:00:01", "10:00:11", "10:00:21", "10:00:31", "10:00:41"].map((time) => `2026-11-22T${time}.000Z`));
    expect(history.map((point) => point.progress)).toEqual(shown); // the retry's commit: the display holds at 50
    expect(shown).toEqual([0, 25, 50, 50, 100]);
    expect(history.at(-1)!.eta_seconds).toBe(0);
    // The ETA as each snapshot showed it (docs/estimation.md says how it is made).
    expect(history[2]!.eta_seconds).toBeGreaterThan(0);
  });

  it("is kept with the head through storage", () => {
    const { state } = runJob();
    const stored = decodeHead(JSON.parse(JSON.stringify(encodeHead(state))) as ReturnType<typeof encodeHead>);
    expect(stored.history).toEqual(state.history);
  });

  it("is shown by GET's detail only: frames, sent every tick, leave it out", () => {
    const { state } = runJob();
    expect(renderSnapshot(state, { detail: true }).detail).not.toHaveProperty("history");
    expect(renderSnapshot(state)).not.toHaveProperty("detail");
  });
});
