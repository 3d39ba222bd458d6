/** The progress-over-time chart's shapes, read as numbers: what a person sees drawn. */
import { describe, expect, it } from "vitest";
import { chartGeometry, FORECAST_PANEL, PROGRESS_PANEL, WIDTH, type ChartPoint } from "../web/page/chart-geometry.ts";

const T0 = Date.parse("2026-12-06T10:00:00Z");
const at = (seconds: number, progress: number | null, etaSeconds: number | null): ChartPoint => ({ atMs: T0 + seconds * 1_000, progress, etaSeconds });
const yOfPercent = (percent: number) => PROGRESS_PANEL.top + PROGRESS_PANEL.height * (1 - percent / 100);

describe("the progress-over-time chart", () => {
  it("draws the displayed % as a step line from the start, and the forecast as a dashed line to 100 % at the forecast finish", () => {
    const chart = chartGeometry({ points: [at(0, 0, null), at(30, 20, 120), at(60, 50, 60)], nowMs: T0 + 60_000, finishedAtMs: null });
    expect(chart.domain).toEqual([T0, T0 + 120_000]);
    const xOf = (seconds: number) => (84 + (seconds / 120) * (WIDTH - 84 - 12)).toFixed(1);
    const y = (percent: number) => yOfPercent(percent).toFixed(1);
    expect(chart.progressPath).toBe(`M${xOf(0)},${y(0)}H${xOf(30)}V${y(20)}H${xOf(60)}V${y(50)}H${xOf(60)}`);
    expect(chart.projection).toEqual({ x1: Number(xOf(60)), y1: yOfPercent(50), x2: WIDTH - 12, y2: yOfPercent(100) });
    expect(chart.isClamped).toBe(false);
  });

  it("draws an ETA that kept its word as a flat forecast line, and one that slipped as a rising one", () => {
    const kept = chartGeometry({ points: [at(10, 10, 90), at(40, 40, 60), at(70, 70, 30)], nowMs: T0 + 70_000, finishedAtMs: null });
    expect(new Set(kept.forecasts.map(({ y }) => y.toFixed(3))).size).toBe(1);
    expect(kept.forecasts.map(({ finishMs }) => finishMs - T0)).toEqual([100_000, 100_000, 100_000]);
    const slipping = chartGeometry({ points: [at(10, 10, 30), at(40, 20, 60), at(70, 30, 90)], nowMs: T0 + 70_000, finishedAtMs: null });
    const ys = slipping.forecasts.map(({ y }) => y);
    expect(ys[0]).toBeGreaterThan(ys[1]!); // later finish = higher on the panel = smaller y
    expect(ys[1]).toBeGreaterThan(ys[2]!);
  });

  it("draws a finished job's real end across the forecast panel, and no projection", () => {
    const chart = chartGeometry({ points: [at(0, 0, null), at(20, 40, 30), at(50, 100, 0)], nowMs: T0 + 90_000, finishedAtMs: T0 + 50_000 });
    expect(chart.projection).toBeNull();
    expect(chart.finishLine).not.toBeNull();
    expect(chart.finishLine!).toBeGreaterThanOrEqual(FORECAST_PANEL.top);
    expect(chart.finishLine!).toBeLessThanOrEqual(FORECAST_PANEL.top + FORECAST_PANEL.height);
    // The forecast made at 20 s (finish at 50 s) lies on the real end.
    expect(chart.forecasts[0]!.y).toBeCloseTo(chart.finishLine!, 6);
  });

  it("keeps the axis within twice the elapsed time when a forecast lies far out, saying it clamped", () => {
    const chart = chartGeometry({ points: [at(0, 0, null), at(60, 1, 86_400)], nowMs: T0 + 60_000, finishedAtMs: null });
    expect(chart.domain).toEqual([T0, T0 + 120_000]);
    expect(chart.isClamped).toBe(true);
    expect(chart.projection!.x2).toBe(WIDTH - 12);
    expect(chart.projection!.y2).toBeGreaterThan(yOfPercent(100)); // it stops short of 100 at the edge
  });

  it("projects forward from the last figure even when its forecast is overdue by the page's clock", () => {
    const chart = chartGeometry({ points: [at(0, 0, null), at(60, 80, 5)], nowMs: T0 + 90_000, finishedAtMs: null });
    expect(chart.projection!.x2).toBeGreaterThan(chart.projection!.x1);
    expect(chart.projection!.y2).toBe(yOfPercent(100));
  });

  it("breaks the line where the figure was unavailable, and puts ticks on round times", () => {
    const chart = chartGeometry({ points: [at(0, 10, null), at(5, null, null), at(9, 30, null)], nowMs: T0 + 10_000, finishedAtMs: null });
    expect(chart.progressPath.match(/M/g)).toHaveLength(2);
    expect(chart.ticks.map(({ atMs }) => (atMs - T0) / 1_000)).toEqual([0, 2, 4, 6, 8, 10]);
  });
});
