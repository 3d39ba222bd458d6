import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { createEmfMetrics } from "../functions/adapters/emf-metrics.ts";
import { createMemoryMetrics } from "../functions/metrics.ts";
import { METRICS } from "../functions/settings.ts";

interface Emf {
  _aws: { Timestamp: number; CloudWatchMetrics: { Namespace: string; Dimensions: string[][]; Metrics: { Name: string; Unit: string }[] }[] };
  [key: string]: unknown;
}

/** Powertools refuses timestamps more than 14 days old, so the clock is the real one, fixed for the test. */
const NOW = Date.now();

function emfLines(record: (metrics: ReturnType<typeof createEmfMetrics>) => void): Emf[] {
  const lines: string[] = [];
  const logged: string[] = [];
  const metrics = createEmfMetrics({ stage: "prod", now: () => NOW, log: (_level, message) => logged.push(message), write: (line) => lines.push(line) });
  record(metrics);
  metrics.flush();
  expect(logged, "Powertools had nothing to warn about").toEqual([]);
  return lines.map((line) => {
    expect(line).not.toContain("\n");
    return JSON.parse(line) as Emf;
  });
}

/** The rules of the embedded metric format: every declared dimension and metric has a value at the top level. */
function expectValidEmf(emf: Emf): void {
  expect(emf._aws.Timestamp).toBe(NOW);
  expect(emf._aws.CloudWatchMetrics.length).toBeGreaterThan(0);
  for (const directive of emf._aws.CloudWatchMetrics) {
    expect(directive.Namespace).toBe(METRICS.namespace);
    for (const set of directive.Dimensions) {
      expect(set.length).toBeLessThanOrEqual(30);
      for (const dimension of set) expect(typeof emf[dimension], `dimension ${dimension} has a string value`).toBe("string");
    }
    for (const metric of directive.Metrics) {
      expect(metric.Unit).toBe(METRICS.units[metric.Name as keyof typeof METRICS.units]);
      const value = emf[metric.Name];
      const values = Array.isArray(value) ? value : [value];
      expect(values.length).toBeGreaterThan(0);
      for (const v of values) expect(typeof v, `${metric.Name} has numbers`).toBe("number");
    }
  }
}

describe("EMF metrics", () => {
  it("writes one valid EMF line with the service and stage dimensions, counts summed and timings kept", () => {
    const [line, ...more] = emfLines((metrics) => {
      metrics.count("EventsApplied", 3);
      metrics.count("EventsApplied", 4);
      metrics.timing("TickDuration", 120);
      metrics.timing("TickDuration", 80);
    });
    expect(more).toEqual([]);
    expectValidEmf(line!);
    expect(line!._aws.CloudWatchMetrics[0]!.Dimensions).toEqual([["service", "stage"]]);
    expect(line).toMatchObject({ service: METRICS.service, stage: "prod", EventsApplied: 7, TickDuration: [120, 80] });
    expect(line!._aws.CloudWatchMetrics[0]!.Metrics).toEqual(expect.arrayContaining([{ Name: "EventsApplied", Unit: "Count" }, { Name: "TickDuration", Unit: "Milliseconds" }]));
  });

  it("publishes a metric recorded with a dimension under that dimension and, for its total, without it", () => {
    const lines = emfLines((metrics) => {
      metrics.count("EventsRejected", 1, { code: "invalid_event" });
      metrics.count("EventsRejected", 2, { code: "unknown_job" });
    });
    for (const line of lines) expectValidEmf(line);
    const total = lines.find((line) => line.code === undefined);
    expect(total).toMatchObject({ EventsRejected: 3 });
    expect(total!._aws.CloudWatchMetrics[0]!.Dimensions).toEqual([["service", "stage"]]);
    const byCode = Object.fromEntries(lines.filter((line) => line.code !== undefined).map((line) => [line.code, line.EventsRejected]));
    expect(byCode).toEqual({ invalid_event: 1, unknown_job: 2 });
    const coded = lines.find((line) => line.code === "invalid_event")!;
    expect(coded._aws.CloudWatchMetrics[0]!.Dimensions[0]!.sort()).toEqual(["code", "service", "stage"]);
  });

  it("writes nothing when nothing was recorded since the last flush", () => {
    const lines: string[] = [];
    const metrics = createEmfMetrics({ stage: "prod", now: () => NOW, log: () => {}, write: (line) => lines.push(line) });
    metrics.count("Posts", 5);
    metrics.flush();
    metrics.flush();
    expect(lines).toHaveLength(1);
  });
});

describe("in-memory metrics", () => {
  it("keeps statistic sets per dimension and sums across them", () => {
    const metrics = createMemoryMetrics();
    metrics.count("EventsRejected", 1, { code: "invalid_event" });
    metrics.count("EventsRejected", 2, { code: "invalid_event" });
    metrics.count("EventsRejected", 1, { code: "unknown_job" });
    metrics.timing("IngestLag", 40);
    metrics.timing("IngestLag", 10);
    expect(metrics.sum("EventsRejected")).toBe(4);
    expect(metrics.sum("EventsRejected", { code: "invalid_event" })).toBe(3);
    expect(metrics.series().find((s) => s.name === "IngestLag")).toMatchObject({ unit: "Milliseconds", sampleCount: 2, sum: 50, min: 10, max: 40 });
  });
});

describe("docs/operating.md", () => {
  it("lists every metric the functions write, with its unit", () => {
    const section = readFileSync(new URL("../docs/operating.md", import.meta.url), "utf8");
    for (const [name, unit] of Object.entries(METRICS.units)) expect(section, name).toContain(`| \`${name}\` | ${unit} |`);
  });
});
