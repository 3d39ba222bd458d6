/**
 * The delivery simulation (the guarantees of docs/realtime.md): test/support/simulation/ runs one seed (its index.ts
 * names the parts, guarantees.ts what it checks). Here: 1,000 seeds, replay, and the
 * planted bugs each caught: the delivery guarantees', and issue 25's (a revoked key's tokens and
 * connections, expiry that follows the job across clock jumps past the retention, refused
 * creates and the job list, the largest reducer batches).
 *
 * Replay a failing seed: HEADWAY_SEED=<n> npx vitest run test/delivery.simulation.test.ts
 * (it prints the seed's trace); HEADWAY_RUNS=<n> sets how many seeds run (default 1,000).
 */
import { describe, expect, it } from "vitest";
import { simulate, type SimOptions } from "./support/simulation/index.ts";

const RUNS = Number(process.env.HEADWAY_RUNS ?? 1_000);
const ONLY_SEED = process.env.HEADWAY_SEED === undefined ? null : Number(process.env.HEADWAY_SEED);

/** Runs seeds until one fails; returns it with what it broke, or null. */
async function firstFailing(seeds: Iterable<number>, options: SimOptions = {}): Promise<{ seed: number; violations: string[] } | null> {
  for (const seed of seeds) {
    const { violations } = await simulate(seed, options);
    if (violations.length > 0) return { seed, violations };
  }
  return null;
}

const range = (from: number, count: number) => Array.from({ length: count }, (_, i) => from + i);

describe("delivery simulation (the delivery guarantees)", () => {
  it(
    ONLY_SEED === null ? `keeps every guarantee over ${RUNS} seeds of faults` : `keeps every guarantee with HEADWAY_SEED=${ONLY_SEED}`,
    async () => {
      const started = performance.now();
      const failures: { seed: number; violations: string[]; trace: string[] }[] = [];
      const totals: Record<string, number> = {};
      for (const seed of ONLY_SEED === null ? range(1, RUNS) : [ONLY_SEED]) {
        const result = await simulate(seed, { trace: ONLY_SEED !== null });
        for (const [what, n] of Object.entries(result.stats)) totals[what] = (totals[what] ?? 0) + n;
        if (result.violations.length > 0) failures.push({ seed, ...result });
      }
      const seconds = ((performance.now() - started) / 1000).toFixed(1);
      if (ONLY_SEED !== null) console.log(failures[0]?.trace.join("\n") ?? `HEADWAY_SEED=${ONLY_SEED}: every guarantee held`);
      else console.log(`delivery simulation: ${RUNS} seeds in ${seconds} s; ${Object.entries(totals).sort().map(([what, n]) => `${what}: ${n}`).join(", ")}`);
      const report = failures.slice(0, 5).map(({ seed, violations }) => `HEADWAY_SEED=${seed}\n  ${violations.slice(0, 5).join("\n  ")}`);
      expect(failures.length, `${failures.length} seed(s) failed; replay one with HEADWAY_SEED=<n> npx vitest run test/delivery.simulation.test.ts\n${report.join("\n")}`).toBe(0);
    },
    300_000,
  );

  it("replays a seed exactly, whatever ran before it", async () => {
    const alone = await simulate(7, { trace: true });
    for (const seed of range(1, 6)) await simulate(seed);
    const again = await simulate(7, { trace: true });
    expect(again.trace).toEqual(alone.trace);
    expect(alone.trace.length).toBeGreaterThan(100);
  });

  // Each planted bug, the seeds searched, and what the guarantee it breaks reports. The clear that
  // ignores versions is rarer than the others: the job's last batch must be stored after a tick
  // read the job and announced before that tick's clear (about one seed in a hundred or two).
  const plants: { plant: NonNullable<SimOptions["plant"]>; what: string; seeds: number; violation: RegExp }[] = [
    { plant: "marker-only-when-version-moved", what: "the change marker written only when the version moved", seeds: 300, violation: /final version/ },
    { plant: "clear-ignores-version", what: "a marker clear that takes away a later announcement", seeds: 1_000, violation: /final version/ },
    { plant: "finished-claimed-before-post", what: "job_finished recorded before its post", seeds: 300, violation: /job_finished of the final/ },
    // Issue 25's guarantees: revocation bites, expiry follows the job, refused creates leave no trace, the largest batches lose nothing.
    { plant: "revocation-ignored", what: "tokens of a revoked key still taken", seeds: 300, violation: /revoked/ },
    { plant: "parts-expire-by-own-write", what: "parts that expire by their own last write, not the job's", seeds: 1_000, violation: /differs from the fault-free run/ },
    { plant: "refused-create-indexed", what: "a refused create that leaves an index entry", seeds: 300, violation: /job list of/ },
    { plant: "large-batch-acks-unapplied", what: "a large reducer batch that acknowledges messages it never applied", seeds: 300, violation: /did not finish|differs from the fault-free run/ },
  ];
  for (const { plant, what, seeds, violation } of plants) {
    it(`catches a planted bug: ${what}`, async () => {
      const caught = await firstFailing(range(1, seeds), { plant });
      expect(caught, "no seed caught the planted bug").not.toBeNull();
      console.log(`planted bug "${plant}" caught by HEADWAY_SEED=${caught!.seed}: ${caught!.violations[0]}`);
      expect(caught!.violations.join("\n")).toMatch(violation);
    }, 120_000);
  }
});
