/**
 * The ticker's Lambda, started every minute by the schedule: it ticks every ~2 s for 55 s of that
 * minute, and beside the ticks sweeps the connections whose token lapsed.
 */
import { environmentServices } from "../composition.ts";
import { lazyHandler } from "../config.ts";
import { SWEEP_EVERY_MS } from "../connection-sweep.ts";
import { TICKER } from "../settings.ts";

export const handler = lazyHandler<unknown, { ticks: number }>(async () => {
  const services = environmentServices();
  const [ticker, sweep] = [services.ticker(), services.connectionSweep()];
  return async () => {
    const [reports] = await Promise.all([ticker.run({ intervalMs: TICKER.intervalMs, durationMs: TICKER.runMs }), sweep.run({ everyMs: SWEEP_EVERY_MS, durationMs: TICKER.runMs })]);
    return { ticks: reports.filter((report) => report.ticked).length };
  };
});
