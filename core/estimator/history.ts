/**
 * A job's progress over time, bounded: at most HISTORY_POINTS points spread evenly over the job's
 * life from its first commit, each with its time, the displayed percentage and the ETA then. The
 * dashboard draws it as the percentage over time and the forecast finish over time.
 *
 * Time is cut into buckets of `bucketMs`, starting at the first point; each bucket keeps its
 * latest point (the first point of all is kept as the start). When the points pass the bound, the
 * buckets double and the points are thinned to one per new bucket, so they stay even across the
 * whole life however long it runs. Deterministic: the same commits give the same history.
 */

export const HISTORY_POINTS = 120;
/** The first buckets: one point a second at most. */
export const FIRST_BUCKET_MS = 1_000;

export interface HistoryPoint {
  atMs: number;
  /** The displayed combined figure then (null while unavailable). */
  progress: number | null;
  /** The ETA then, in seconds (null while unknown). */
  etaSeconds: number | null;
}

export interface History {
  bucketMs: number;
  points: HistoryPoint[];
}

export const EMPTY_HISTORY: History = { bucketMs: FIRST_BUCKET_MS, points: [] };

const bucketOf = (history: History, atMs: number) => Math.floor((atMs - history.points[0]!.atMs) / history.bucketMs);

/** The history with one more point: a commit at `point.atMs`. Returns the same object when nothing changed. */
export function recordPoint(history: History, point: HistoryPoint): History {
  const { points } = history;
  if (points.length === 0) return { bucketMs: history.bucketMs, points: [point] };
  const last = points[points.length - 1]!;
  // A clock that steps back (commits are timed by the committer's clock) stays on the last point's time.
  const atMs = Math.max(point.atMs, last.atMs);
  const next = { ...point, atMs };
  if (last.progress === next.progress && last.etaSeconds === next.etaSeconds) return history;
  // The first point stays the start; any other keeps the latest value of its bucket.
  if (points.length > 1 && bucketOf(history, atMs) === bucketOf(history, last.atMs)) {
    return thinned({ bucketMs: history.bucketMs, points: [...points.slice(0, -1), next] });
  }
  return thinned({ bucketMs: history.bucketMs, points: [...points, next] });
}

/** Doubles the buckets until the points fit, keeping the first point and the latest of each bucket. */
function thinned(history: History): History {
  let current = history;
  while (current.points.length > HISTORY_POINTS) {
    const wider = { bucketMs: current.bucketMs * 2, points: current.points };
    const kept: HistoryPoint[] = [current.points[0]!];
    for (const point of current.points.slice(1)) {
      const previous = kept[kept.length - 1]!;
      if (kept.length > 1 && bucketOf(wider, point.atMs) === bucketOf(wider, previous.atMs)) kept[kept.length - 1] = point;
      else kept.push(point);
    }
    current = { bucketMs: wider.bucketMs, points: kept };
  }
  return current;
}
