import { availableParallelism } from "node:os";
import { defineConfig } from "vitest/config";

// In CI the JSON report feeds .ci/run's closing `tests: N passed, N failed` line.
const reporters = process.env.CI ? ["default", ["json", { outputFile: ".vitest-report.json" }] as const] : ["default"];

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts", "core/**/*.test.ts", "functions/**/*.test.ts", "sandbox/**/*.test.ts"],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: "forks",
    // Vitest's default (cores - 1) runs one file at a time on CI's 2 cores; the integration files
    // spend most of their time waiting on sockets and timers, so two at once take 6 minutes, not 8.
    maxWorkers: Math.max(2, availableParallelism() - 1),
    reporters: reporters as never,
  },
});
