/**
 * The metrics port: handlers count and time what an operator alarms on, and flush once per
 * invocation (or tick). On Lambda the implementation writes CloudWatch embedded metric format
 * (adapters/emf-metrics.ts); the sandbox and tests keep them in memory (`createMemoryMetrics`),
 * and the sandbox serves them at `GET /v1/metrics`. Metric names and units are in settings.ts.
 */
import { METRICS, type MetricName } from "./settings.ts";

type UnitOf<N extends MetricName> = (typeof METRICS.units)[N];
export type CountMetric = { [N in MetricName]: UnitOf<N> extends "Count" ? N : never }[MetricName];
export type TimingMetric = { [N in MetricName]: UnitOf<N> extends "Milliseconds" ? N : never }[MetricName];
/** Dimensions beyond `service` and `stage` (low-cardinality values only: a rejection code, never a job id). */
export type Dimensions = Readonly<Record<string, string>>;

export interface Metrics {
  count(name: CountMetric, value?: number, dimensions?: Dimensions): void;
  timing(name: TimingMetric, ms: number, dimensions?: Dimensions): void;
  /** Publishes what was recorded since the last flush. */
  flush(): void;
}

/** The statistics of one metric under one set of dimensions (CloudWatch's statistic set). */
export interface MetricSeries {
  name: MetricName;
  unit: string;
  dimensions: Dimensions;
  sampleCount: number;
  sum: number;
  min: number;
  max: number;
}

export interface MemoryMetrics extends Metrics {
  /** Every series recorded since the start, in the order first seen. */
  series(): MetricSeries[];
  /** The sum of a metric over all its dimensions, or over those matching `dimensions`. */
  sum(name: MetricName, dimensions?: Dimensions): number;
}

const keyOf = (name: string, dimensions: Dimensions) => `${name}${JSON.stringify(Object.entries(dimensions).sort(([a], [b]) => a.localeCompare(b)))}`;

/** Keeps every series since the start; `flush` has nothing to publish. */
export function createMemoryMetrics(): MemoryMetrics {
  const all = new Map<string, MetricSeries>();
  const record = (name: MetricName, value: number, dimensions: Dimensions = {}) => {
    const key = keyOf(name, dimensions);
    const series = all.get(key);
    if (series === undefined) all.set(key, { name, unit: METRICS.units[name], dimensions: { ...dimensions }, sampleCount: 1, sum: value, min: value, max: value });
    else Object.assign(series, { sampleCount: series.sampleCount + 1, sum: series.sum + value, min: Math.min(series.min, value), max: Math.max(series.max, value) });
  };
  return {
    count: (name, value = 1, dimensions) => record(name, value, dimensions),
    timing: (name, ms, dimensions) => record(name, ms, dimensions),
    flush: () => {},
    series: () => [...all.values()].map((series) => ({ ...series, dimensions: { ...series.dimensions } })),
    sum: (name, dimensions = {}) =>
      [...all.values()]
        .filter((series) => series.name === name && Object.entries(dimensions).every(([key, value]) => series.dimensions[key] === value))
        .reduce((total, series) => total + series.sum, 0),
  };
}
