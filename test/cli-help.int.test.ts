/**
 * Every command of `headway` answers `--help` with its own usage and exit code 0, and a mistyped
 * option with that usage on stderr and exit code 2, never a stack trace.
 */
import { spawn } from "node:child_process";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

const HEADWAY = join(import.meta.dirname, "..", "bin", "headway.ts");

function headway(...args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [HEADWAY, ...args], { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, HEADWAY_TABLE_NAME: "" } });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    child.once("error", reject);
    child.once("close", (code) => resolve({ code, stdout, stderr }));
  });
}

const COMMANDS: [string[], string][] = [
  [["start"], "headway start"],
  [["watch"], "headway watch JOB"],
  [["replay"], "headway replay FILE"],
  [["tenants"], "headway tenants create NAME"],
  [["tenants", "create"], "headway tenants create NAME"],
  [["keys"], "headway keys create --tenant T"],
  [["keys", "create"], "headway keys create --tenant T"],
  [["keys", "revoke"], "headway keys revoke --tenant T"],
  [["webhook-secret", "rotate"], "headway webhook-secret rotate --tenant T"],
  [["audit"], "headway audit"],
];

const noStackTrace = (text: string) => expect(text).not.toMatch(/^\s+at .+:\d+:\d+\)?$/m);

describe("headway --help", () => {
  it("prints every command's first line for `headway --help`, `-h` and `help`, exiting 0", async () => {
    for (const args of [["--help"], ["-h"], ["help"]]) {
      const { code, stdout } = await headway(...args);
      expect(code, args.join(" ")).toBe(0);
      for (const [, usage] of COMMANDS) expect(stdout).toContain(usage);
    }
  });

  it("prints that command's usage for `COMMAND --help` and `help COMMAND`, exiting 0", async () => {
    const runs = await Promise.all(COMMANDS.flatMap(([command]) => [headway(...command, "--help"), headway("help", command[0]!)]));
    runs.forEach(({ code, stdout, stderr }, index) => {
      const [command, usage] = COMMANDS[Math.floor(index / 2)]!;
      expect(code, `${command.join(" ")}: ${stderr}`).toBe(0);
      expect(stdout).toMatch(/^usage:\n/);
      expect(stdout).toContain(usage);
      expect(stderr).toBe("");
    });
  });

  it("answers an unknown option with the command's usage on stderr and exit code 2, without a stack trace", async () => {
    const runs = await Promise.all(COMMANDS.map(([command]) => headway(...command, "--no-such-option")));
    runs.forEach(({ code, stdout, stderr }, index) => {
      const [command, usage] = COMMANDS[index]!;
      expect(code, command.join(" ")).toBe(2);
      expect(stdout).toBe("");
      expect(stderr).toContain("Unknown option '--no-such-option'");
      expect(stderr).toContain(usage);
      noStackTrace(stderr);
    });
  });

  it("answers an unknown command with every command's usage and exit code 2", async () => {
    const { code, stderr } = await headway("frobnicate");
    expect(code).toBe(2);
    expect(stderr).toContain('unknown command "frobnicate"');
    expect(stderr).toContain("headway watch JOB");
    noStackTrace(stderr);
  });
});
