/**
 * `GET /v1/metrics` on the sandbox's HTTP server: the metrics the functions recorded since the
 * sandbox started, as the statistic sets CloudWatch would hold (the deployed API has no such
 * route: there the metrics are in CloudWatch). Service-wide, so it takes the sandbox's own
 * development key, not any tenant's.
 */
import { Hono } from "hono";
import { isSameSecret } from "../core/access/secret-compare.ts";
import type { MemoryMetrics } from "../functions/metrics.ts";
import { METRICS } from "../functions/settings.ts";

export function metricsApi(deps: { metrics: MemoryMetrics; apiKey: string }): Hono {
  return new Hono().get("/", (c) => {
    const given = /^Bearer\s+(\S+)$/i.exec(c.req.header("authorization") ?? "")?.[1];
    // Compared in constant time (hashes of both sides), as every secret is.
    if (given === undefined || !isSameSecret(given, deps.apiKey)) {
      return c.json({ error: { code: "unauthorized", message: "the sandbox's metrics take its development key as `Authorization: Bearer <key>`" } }, 401);
    }
    const series = deps.metrics.series();
    const totals: Record<string, number> = {};
    // A series with dimensions is also counted in its metric's total, as the EMF adapter publishes it.
    for (const { name, sum } of series) totals[name] = (totals[name] ?? 0) + sum;
    return c.json({
      namespace: METRICS.namespace,
      totals,
      series: series.map((s) => ({ name: s.name, unit: s.unit, dimensions: s.dimensions, sample_count: s.sampleCount, sum: s.sum, min: s.min, max: s.max })),
    });
  });
}
