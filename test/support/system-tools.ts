/**
 * Tests that drive a program from the system (Chromium, tmux, Java): on a developer's machine
 * without it they are skipped with a warning; in CI (`CI` set, as `.ci/run` sets it after
 * installing them) a missing program is a failed test, so a run can never go green by skipping.
 */
import { spawnSync } from "node:child_process";
import { test } from "vitest";

/** Whether `command args…` runs and exits 0. */
export function runs(command: string, args: string[]): boolean {
  return spawnSync(command, args, { stdio: "ignore", timeout: 10_000 }).status === 0;
}

/** True when the tests that need `what` must be skipped; in CI it registers a failing test instead of skipping quietly. */
export function skipWithout(what: string, available: boolean, install: string): boolean {
  if (available) return false;
  const message = `${what} is not installed (${install})`;
  if (process.env.CI) {
    test(`needs ${what}`, () => {
      throw new Error(`${message}: in CI every test runs, so a missing ${what} fails the run`);
    });
  } else {
    console.warn(`skipped: ${message}`);
  }
  return true;
}
