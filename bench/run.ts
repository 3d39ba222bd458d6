/**
 * `npm run bench -- NAME`: runs one benchmark and prints its figures, one `name: value` per line.
 * Benchmarks are measurements, not tests: they print, they do not assert.
 */
const benchmarks: Record<string, () => Promise<unknown>> = {
  estimator: () => import("./estimator.ts"),
  pipeline: () => import("./pipeline.ts"),
  fanout: () => import("./fanout.ts"),
  poster: () => import("./poster.ts"),
  eta: () => import("./eta.ts"),
};

const name = process.argv[2];
const load = name === undefined ? undefined : benchmarks[name];
if (load === undefined) {
  process.stderr.write(`usage: npm run bench -- <${Object.keys(benchmarks).join("|")}>\n`);
  process.exitCode = 2;
} else {
  const module = (await load()) as { main(args: string[]): Promise<void> };
  await module.main(process.argv.slice(3));
}
