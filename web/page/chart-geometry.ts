/**
 * The progress-over-time chart: two panels on one time axis, from the job's first commit to now
 * (or to its forecast finish, when that is near enough to show).
 * - **Progress**: the displayed % over time, and the current forecast as a dashed line from the
 *   last figure to 100 % at the forecast finish.
 * - **Forecast finish**: when each ETA said the job would end, over the time it was said. A flat
 *   line is an ETA that kept its word; a rising one, a job slipping; the diagonal is "now" (a
 *   forecast can only meet it by finishing), and a finished job draws its real end across.
 * This module is pure (numbers in, shapes out, no DOM) so tests can read the shapes; chart.ts draws them.
 */

export interface ChartPoint {
  atMs: number;
  progress: number | null;
  etaSeconds: number | null;
}

export interface ChartInput {
  points: readonly ChartPoint[];
  /** The time the chart is drawn at (the page's clock, or the last point's time if later). */
  nowMs: number;
  /** When the job finished (completed, failed or cancelled), if it has. */
  finishedAtMs: number | null;
}

export const WIDTH = 640;
export const LEFT = 84;
export const RIGHT = 12;
export const PROGRESS_PANEL = { top: 10, height: 120 };
export const FORECAST_PANEL = { top: 165, height: 100 };
export const HEIGHT = 290;

export interface Tick {
  x: number;
  atMs: number;
}

export interface ChartGeometry {
  /** The time axis: [start, end] in ms, and its ticks. */
  domain: [number, number];
  ticks: Tick[];
  /** Progress panel: the figure's path (segments where it was known), and the forecast's dashed line. */
  progressPath: string;
  projection: { x1: number; y1: number; x2: number; y2: number } | null;
  /** Forecast panel: each forecast as a point, its y scale's domain, the "now" diagonal, the real end. */
  forecasts: { x: number; y: number; finishMs: number }[];
  forecastDomain: [number, number];
  diagonal: { x1: number; y1: number; x2: number; y2: number };
  finishLine: number | null;
  /** True when a forecast lay beyond the drawn axis (it is clamped to the edge). */
  isClamped: boolean;
}

const TICK_STEPS_MS = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1_800, 3_600, 7_200, 10_800, 21_600, 43_200, 86_400].map((s) => s * 1_000);

export function timeTicks(startMs: number, endMs: number, xOf: (atMs: number) => number, most = 6): Tick[] {
  const span = Math.max(1, endMs - startMs);
  const step = TICK_STEPS_MS.find((candidate) => span / candidate <= most) ?? Math.ceil(span / most / 86_400_000) * 86_400_000;
  const ticks: Tick[] = [];
  for (let atMs = Math.ceil(startMs / step) * step; atMs <= endMs; atMs += step) ticks.push({ atMs, x: xOf(atMs) });
  return ticks;
}

export function chartGeometry({ points, nowMs, finishedAtMs }: ChartInput): ChartGeometry {
  const start = points[0]?.atMs ?? nowMs;
  const last = points.at(-1);
  const now = Math.max(nowMs, last?.atMs ?? nowMs, finishedAtMs ?? 0);
  const elapsed = Math.max(1_000, now - start);
  const finishOf = (point: ChartPoint) => (point.etaSeconds === null ? null : point.atMs + point.etaSeconds * 1_000);
  const lastForecast = finishedAtMs === null && last !== undefined ? finishOf(last) : null;
  // The axis reaches the current forecast, but no further than as much again as has elapsed.
  const reach = start + 2 * elapsed;
  const end = lastForecast === null ? now : Math.min(Math.max(now, lastForecast), reach);
  const xOf = (atMs: number) => LEFT + ((atMs - start) / Math.max(1, end - start)) * (WIDTH - LEFT - RIGHT);
  const yOfProgress = (progress: number) => PROGRESS_PANEL.top + PROGRESS_PANEL.height * (1 - progress / 100);

  let progressPath = "";
  let previous: { x: number; y: number } | null = null;
  for (const point of points) {
    if (point.progress === null) {
      previous = null;
      continue;
    }
    const x = xOf(point.atMs);
    const y = yOfProgress(point.progress);
    // A step line: the figure holds until the next commit changes it.
    progressPath += previous === null ? `M${x.toFixed(1)},${y.toFixed(1)}` : `H${x.toFixed(1)}V${y.toFixed(1)}`;
    previous = { x, y };
  }
  if (previous !== null) progressPath += `H${xOf(finishedAtMs ?? now).toFixed(1)}`;

  let isClamped = false;
  let projection: ChartGeometry["projection"] = null;
  if (lastForecast !== null && last !== undefined && last.progress !== null && last.progress < 100) {
    if (lastForecast > end) isClamped = true;
    const targetX = xOf(Math.min(lastForecast, end));
    // Clamped, the line stops at the axis' end at the height it would have reached there.
    const reached = lastForecast <= end ? 100 : last.progress + ((100 - last.progress) * (end - last.atMs)) / Math.max(1, lastForecast - last.atMs);
    // From the last figure, when it was shown, to 100 % when the ETA then said (it may be past by now).
    projection = { x1: xOf(last.atMs), y1: yOfProgress(last.progress), x2: targetX, y2: yOfProgress(reached) };
  }

  const said = points.flatMap((point) => {
    const finishMs = finishOf(point);
    return finishMs === null ? [] : [{ atMs: point.atMs, finishMs }];
  });
  // The forecast panel's scale reaches further than the time axis (a slipping job shows as it slips).
  const forecastReach = start + 4 * elapsed;
  const forecastTop = Math.max(end, finishedAtMs ?? 0, ...said.map(({ finishMs }) => Math.min(finishMs, forecastReach)));
  const forecastDomain: [number, number] = [start, Math.max(start + 1_000, forecastTop)];
  const yOfForecast = (atMs: number) => FORECAST_PANEL.top + FORECAST_PANEL.height * (1 - (atMs - forecastDomain[0]) / (forecastDomain[1] - forecastDomain[0]));
  const forecasts = said.map(({ atMs, finishMs }) => {
    if (finishMs > forecastDomain[1]) isClamped = true;
    return { x: xOf(atMs), y: yOfForecast(Math.min(finishMs, forecastDomain[1])), finishMs };
  });
  const diagonalEnd = Math.min(end, forecastDomain[1]);
  return {
    domain: [start, end],
    ticks: timeTicks(start, end, xOf),
    progressPath,
    projection,
    forecasts,
    forecastDomain,
    diagonal: { x1: xOf(start), y1: yOfForecast(start), x2: xOf(diagonalEnd), y2: yOfForecast(diagonalEnd) },
    finishLine: finishedAtMs === null ? null : yOfForecast(finishedAtMs),
    isClamped,
  };
}
