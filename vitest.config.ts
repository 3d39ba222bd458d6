import { defineConfig } from "vitest/config";

// In CI the JSON report feeds .ci/run's closing `tests: N passed, N failed` line.
const reporters = process.env.CI ? ["default", ["json", { outputFile: ".vitest-report.json" }] as const] : ["default"];

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts", "core/**/*.test.ts", "functions/**/*.test.ts", "sandbox/**/*.test.ts"],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: "forks",
    reporters: reporters as never,
  },
});
