/**
 * A job's progress history stays within its bound, spread evenly over the job's whole life, with
 * its first point and its latest value always kept.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { EMPTY_HISTORY, HISTORY_POINTS, recordPoint, type History, type HistoryPoint } from "../core/estimator/history.ts";

const commits = fc.array(
  fc.record({ gapMs: fc.oneof(fc.integer({ min: 0, max: 3_000 }), fc.integer({ min: 0, max: 3_600_000 })), progress: fc.option(fc.integer({ min: 0, max: 100 })), etaSeconds: fc.option(fc.integer({ min: 0, max: 100_000 })) }),
  { minLength: 1, maxLength: 2_000, size: "max" },
);

function replay(list: { gapMs: number; progress: number | null; etaSeconds: number | null }[], record = recordPoint): { history: History; points: HistoryPoint[] } {
  let atMs = Date.parse("2026-12-06T10:00:00Z");
  let history = EMPTY_HISTORY;
  const points: HistoryPoint[] = [];
  for (const { gapMs, progress, etaSeconds } of list) {
    atMs += gapMs;
    const point = { atMs, progress, etaSeconds };
    points.push(point);
    history = record(history, point);
  }
  return { history, points };
}

/** Kept from the start; buckets within a few times the life's share of one point; no change left out for longer than two buckets. */
function isEven({ history, points }: { history: History; points: HistoryPoint[] }): boolean {
  const life = points.at(-1)!.atMs - points[0]!.atMs;
  // From the start: the first commit is kept.
  if (history.points[0]!.atMs !== points[0]!.atMs) return false;
  if (history.bucketMs > Math.max(1_000, (4 * life) / HISTORY_POINTS)) return false;
  // Between two kept points there is no change of value left out for longer than two buckets.
  const kept = history.points;
  for (let i = 1; i < kept.length; i++) {
    const changedBetween = points.some((p) => p.atMs > kept[i - 1]!.atMs && p.atMs < kept[i]!.atMs - 2 * history.bucketMs && (p.progress !== kept[i - 1]!.progress || p.etaSeconds !== kept[i - 1]!.etaSeconds));
    if (changedBetween) return false;
  }
  return true;
}

describe("progress history", () => {
  it("keeps at most 120 points in time order, the first commit and the latest values", () => {
    fc.assert(
      fc.property(commits, (list) => {
        const { history, points } = replay(list);
        expect(history.points.length).toBeLessThanOrEqual(HISTORY_POINTS);
        expect(history.points[0]).toEqual(points[0]);
        for (let i = 1; i < history.points.length; i++) expect(history.points[i]!.atMs).toBeGreaterThanOrEqual(history.points[i - 1]!.atMs);
        const latest = history.points.at(-1)!;
        expect([latest.progress, latest.etaSeconds]).toEqual([points.at(-1)!.progress, points.at(-1)!.etaSeconds]);
      }),
      { seed: 20261206, numRuns: 300 },
    );
  });

  it("spreads its points evenly over the whole life, however long", () => {
    fc.assert(fc.property(commits, (list) => isEven(replay(list))), { seed: 20261207, numRuns: 300 });
  });

  it("over ten hours of commits every two seconds keeps 61 to 120 points from start to end", () => {
    const list = Array.from({ length: 18_000 }, (_, i) => ({ gapMs: 2_000, progress: Math.floor((i * 100) / 18_000), etaSeconds: 36_000 - i * 2 }));
    const { history } = replay(list);
    expect(history.points.length).toBeGreaterThan(HISTORY_POINTS / 2);
    expect(history.points.length).toBeLessThanOrEqual(HISTORY_POINTS);
    expect(history.points.at(-1)!.atMs - history.points[0]!.atMs).toBe(17_999 * 2_000);
  });

  it("adds nothing while the values stay the same", () => {
    const { history } = replay([
      { gapMs: 0, progress: 0, etaSeconds: null },
      { gapMs: 5_000, progress: 10, etaSeconds: 90 },
      { gapMs: 60_000, progress: 10, etaSeconds: 90 },
      { gapMs: 60_000, progress: 10, etaSeconds: 90 },
    ]);
    expect(history.points.map((p) => p.progress)).toEqual([0, 10]);
  });

  it("catches a history that keeps its newest points only (a planted bug)", () => {
    const newestOnly = (history: History, point: HistoryPoint): History => ({ bucketMs: history.bucketMs, points: [...history.points, point].slice(-HISTORY_POINTS) });
    const caught = fc.check(fc.property(commits, (list) => isEven(replay(list, newestOnly))), { seed: 20261208, numRuns: 300, endOnFailure: true });
    expect(caught.failed).toBe(true);
  });
});
