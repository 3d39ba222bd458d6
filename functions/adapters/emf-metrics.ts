/**
 * The metrics port on Lambda: CloudWatch embedded metric format (EMF) lines, built by Powertools
 * for AWS Lambda's Metrics (names, units, dimension limits and the `_aws` envelope are its job).
 * CloudWatch Logs turns each line into metrics; nothing here calls the CloudWatch API.
 *
 * One Powertools instance per set of dimensions, because an instance's dimensions apply to every
 * metric it holds; a value recorded with dimensions goes to the base set (`service`, `stage`) as
 * well, so that its total is one metric an alarm can read. Counts are summed until `flush`;
 * timings keep each value (CloudWatch computes percentiles from them). Lines are written with
 * `write` (stdout by default, bypassing Lambda's console so a line stays one raw JSON object).
 */
import { Metrics as PowertoolsMetrics } from "@aws-lambda-powertools/metrics";
import type { Log } from "../config.ts";
import type { Dimensions, Metrics } from "../metrics.ts";
import { METRICS, type MetricName } from "../settings.ts";

export interface EmfMetricsOptions {
  stage: string;
  now: () => number;
  log: Log;
  namespace?: string;
  write?: (line: string) => void;
}

export function createEmfMetrics(options: EmfMetricsOptions): Metrics {
  const write = options.write ?? ((line: string) => void process.stdout.write(`${line}\n`));
  const say = (level: "debug" | "info" | "warn" | "error") => (...content: unknown[]) => options.log(level, `metrics: ${content.map(String).join(" ")}`);
  const logger = { debug: say("debug"), info: say("info"), warn: say("warn"), error: say("error") };
  const emitters = new Map<string, { emitter: PowertoolsMetrics; counts: Map<MetricName, number> }>();

  function emitterFor(dimensions: Dimensions) {
    const key = JSON.stringify(Object.entries(dimensions).sort(([a], [b]) => a.localeCompare(b)));
    let found = emitters.get(key);
    if (found === undefined) {
      const emitter = new PowertoolsMetrics({ namespace: options.namespace ?? METRICS.namespace, serviceName: METRICS.service, defaultDimensions: { stage: options.stage, ...dimensions }, logger });
      emitters.set(key, (found = { emitter, counts: new Map() }));
    }
    return found;
  }

  /** The base set, and the given dimensions' own when there are any. */
  const setsOf = (dimensions: Dimensions | undefined) => (dimensions === undefined || Object.keys(dimensions).length === 0 ? [emitterFor({})] : [emitterFor({}), emitterFor(dimensions)]);

  return {
    count(name, value = 1, dimensions) {
      for (const { counts } of setsOf(dimensions)) counts.set(name, (counts.get(name) ?? 0) + value);
    },
    timing(name, ms, dimensions) {
      for (const { emitter } of setsOf(dimensions)) emitter.addMetric(name, METRICS.units[name], ms);
    },
    flush() {
      for (const { emitter, counts } of emitters.values()) {
        for (const [name, total] of counts) emitter.addMetric(name, METRICS.units[name], total);
        counts.clear();
        if (!emitter.hasStoredMetrics()) continue;
        emitter.setTimestamp(options.now());
        write(JSON.stringify(emitter.serializeMetrics()));
        emitter.clearMetrics();
      }
    },
  };
}
