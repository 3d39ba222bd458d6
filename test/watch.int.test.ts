/**
 * `headway watch` as a person and a script see it: the command runs in a real terminal (tmux) or
 * with its stdout piped, against a sandbox, while the test drives the job with events over HTTP.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { spawn, spawnSync } from "node:child_process";
import { join } from "node:path";
import type { Event } from "../core/contract/events.ts";
import { silentLog } from "../functions/config.ts";
import { startSandbox, type Sandbox } from "../sandbox/sandbox.ts";
import type { JobSnapshot } from "../sdk/client/index.ts";
import { eventFactory } from "./support/events.ts";
import { runs, skipWithout } from "./support/system-tools.ts";

const ROOT = join(import.meta.dirname, "..");
const HEADWAY = join(ROOT, "bin", "headway.ts");
const withoutTmux = skipWithout("tmux", runs("tmux", ["-V"]), "apt-get install -y tmux");

let sandbox: Sandbox;
beforeAll(async () => {
  sandbox = await startSandbox({ port: 0, memory: true, dataDir: "", log: silentLog, batchingWindowMs: 20, tickMs: 300 });
});
afterAll(async () => sandbox?.stop());

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const api = (method: string, path: string, body?: unknown) =>
  fetch(`${sandbox.http}${path}`, { method, headers: { authorization: `Bearer ${sandbox.apiKey}`, "content-type": "application/json" }, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });

async function createJob(jobId: string, originals: string[], emitExecutionProgress = true) {
  const plan = { steps: { encoded: { robot: "/video/encode", use: ":original" } } };
  const response = await api("POST", "/v1/jobs", { job_id: jobId, plan, originals: originals.map((original_id) => ({ original_id, mime: "video/mp4" })), emit_execution_progress: emitExecutionProgress });
  expect(response.status).toBe(201);
}

async function send(jobId: string, events: Event[]) {
  expect((await api("POST", `/v1/jobs/${jobId}/events`, { v: 1, events })).status).toBe(202);
}

async function eventually<T>(what: () => T | undefined | Promise<T | undefined>, describeLast: () => string, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = await what();
    if (found !== undefined) return found;
    if (Date.now() > deadline) throw new Error(`timed out; last seen:\n${describeLast()}`);
    await sleep(100);
  }
}

/**
 * A tmux server of this test's own (its own socket), so nothing else running tmux is touched, and
 * one test's server shutting down cannot race the next test's start.
 */
function terminal(name: string) {
  const socket = `headway-watch-test-${process.pid}-${name}`;
  const tmux = (...args: string[]) => spawnSync("tmux", ["-u", "-L", socket, ...args], { encoding: "utf8" });
  let pane = "";
  return {
    run(command: string) {
      const started = tmux("new-session", "-d", "-s", name, "-x", "120", "-y", "40", "-c", ROOT, command);
      expect(started.status, started.stderr).toBe(0);
    },
    capture(): string {
      pane = tmux("capture-pane", "-p", "-t", name).stdout;
      return pane;
    },
    /** The pane once `matches` finds what it looks for in it. */
    until<T>(matches: (pane: string) => T | undefined, timeoutMs?: number): Promise<T> {
      return eventually(() => matches(this.capture()), () => pane, timeoutMs);
    },
    sendKeys: (keys: string) => tmux("send-keys", "-t", name, keys),
    close: () => tmux("kill-server"),
  };
}

const percentOf = (row: string) => (pane: string) => {
  const match = new RegExp(`^${row}\\s.*?\\s(\\d+)%`, "m").exec(pane);
  return match === null ? undefined : Number(match[1]);
};

describe("headway watch", () => {
  it.skipIf(withoutTmux)("draws live bars in a terminal (the combined figure, each file, each label, the running command) and exits 0 at 100 % (needs tmux)", async () => {
    const jobId = "watch-tty";
    await createJob(jobId, ["clip-a.mp4", "clip-b.mp4"]);
    const e = eventFactory(jobId, Date.now());
    const screen = terminal(jobId);
    try {
      screen.run(`'${process.execPath}' '${HEADWAY}' watch ${jobId} --url ${sandbox.http} --api-key ${sandbox.apiKey}; echo EXIT=$?; sleep 30`);
      await screen.until((pane) => (/^job watch-tty$/m.test(pane) && /^combined\s/m.test(pane) ? true : undefined));

      await send(jobId, [
        e.started("encoded", "clip-a.mp4"),
        e.progress("encoded", "clip-a.mp4", [30, 100], { unit: "Bytes", message: "encoding clip-a" }),
        e.added(4, "pager", { label: "pages" }),
        e.done(1, "pager", { label: "pages" }),
      ]);
      const early = await screen.until((pane) => {
        const combined = percentOf("combined")(pane);
        return combined !== undefined && combined > 0 && /encoding clip-a/.test(pane) && /^pages\s.*1\/4/m.test(pane) ? combined : undefined;
      });
      let pane = screen.capture();
      console.log(`what a person saw mid-job:\n${pane.trimEnd()}`);
      expect(pane).toMatch(/^clip-a\.mp4\s.*\d+%/m); // a file's row
      expect(pane).toMatch(/^clip-b\.mp4\s.*0%/m); // the slowest file, first among files
      expect(pane.indexOf("clip-b.mp4")).toBeLessThan(pane.indexOf("clip-a.mp4"));
      expect(pane).toMatch(/^pages\s.*25%\s+1\/4/m); // a label's row
      expect(pane).toMatch(/▸ encoded clip-a\.mp4\s.*30%\s+30\/100 Bytes · encoding clip-a/); // the running command's unit and message
      expect(pane).toMatch(/ETA /);
      expect(pane).not.toMatch(/\x1b/);

      await send(jobId, [
        e.progress("encoded", "clip-a.mp4", [90, 100], { unit: "Bytes", message: "almost there" }),
        e.started("encoded", "clip-b.mp4"),
        e.progress("encoded", "clip-b.mp4", [50, 100], { unit: "Bytes", message: "encoding clip-b" }),
        e.done(2, "pager", { label: "pages" }),
      ]);
      const later = await screen.until((pane) => {
        const combined = percentOf("combined")(pane);
        return combined !== undefined && combined > early && /almost there/.test(pane) && /3\/4/.test(pane) ? combined : undefined;
      });
      expect(later).toBeGreaterThan(early);

      await send(jobId, [e.completed("encoded", "clip-a.mp4"), e.completed("encoded", "clip-b.mp4"), e.done(1, "pager", { label: "pages" }), e.jobCompleted()]);
      pane = await screen.until((pane) => (/EXIT=\d+/.test(pane) ? pane : undefined));
      expect(pane).toMatch(/^combined\s.*100%\s+completed · ETA done/m);
      expect(pane).toMatch(/^pages\s.*100%\s+4\/4/m);
      expect(pane).toMatch(/^job watch-tty completed$/m);
      expect(pane).toMatch(/^EXIT=0$/m);
      console.log(`what a person saw at the end:\n${pane.trimEnd()}`);
    } finally {
      screen.close();
    }
  }, 60_000);

  it.skipIf(withoutTmux)("draws a plan-less job's running commands live, their unit, sub-step and message, while its combined figure is unknown (needs tmux)", async () => {
    // A job of commands (Golem's): no plan, no files, no counted work.
    const jobId = "watch-commands";
    expect((await api("POST", "/v1/jobs", { job_id: jobId })).status).toBe(201);
    const e = eventFactory(jobId, Date.now());
    const screen = terminal(jobId);
    try {
      screen.run(`'${process.execPath}' '${HEADWAY}' watch ${jobId} --url ${sandbox.http} --api-key ${sandbox.apiKey}; echo EXIT=$?; sleep 30`);
      await screen.until((pane) => (/^job watch-commands$/m.test(pane) ? true : undefined));
      const transfer = { input_id: "image.tar", unit: "Bytes", step_index: [0, 2] as [number, number] };
      await send(jobId, [e.started("transfer", undefined, 1, { input_id: "image.tar" }), e.progress("transfer", undefined, [256, 1024], { ...transfer, message: "downloading" })]);
      let pane = await screen.until((pane) => (/downloading/.test(pane) ? pane : undefined));
      expect(pane).toMatch(/^▸ transfer image\.tar\s.*25%\s+256\/1024 Bytes · step 1\/2 · downloading/m);
      expect(pane).toMatch(/^combined\s.*\?%\s+executing · ETA unknown/m);
      console.log(`what a person saw of a job of commands:\n${pane.trimEnd()}`);

      await send(jobId, [e.progress("transfer", undefined, [0, 1024], { ...transfer, message: "Transfer retried" })]);
      pane = await screen.until((pane) => (/Transfer retried/.test(pane) ? pane : undefined));
      expect(pane).toMatch(/^▸ transfer image\.tar\s.*0%\s+0\/1024 Bytes · step 1\/2 · Transfer retried/m);

      await send(jobId, [e.completed("transfer", undefined, { input_id: "image.tar" }), e.jobCompleted()]);
      pane = await screen.until((pane) => (/EXIT=\d+/.test(pane) ? pane : undefined));
      expect(pane).toMatch(/^EXIT=0$/m);
    } finally {
      screen.close();
    }
  }, 60_000);

  it.skipIf(withoutTmux)("draws a job that asked for no progress events at once and keeps it current (needs tmux)", async () => {
    const jobId = "watch-quiet";
    await createJob(jobId, ["clip.mp4"], false);
    const e = eventFactory(jobId, Date.now());
    const screen = terminal(jobId);
    try {
      screen.run(`'${process.execPath}' '${HEADWAY}' watch ${jobId} --url ${sandbox.http} --api-key ${sandbox.apiKey}; echo EXIT=$?; sleep 30`);
      // Before any event: the job's rows at once (or, for the first instant, the line that says it waits).
      const first = await screen.until((pane) => (/^combined\s/m.test(pane) || /waiting for the job's first snapshot/.test(pane) ? pane : undefined));
      expect(first).toMatch(/^job watch-quiet$/m);
      await screen.until((pane) => (percentOf("combined")(pane) === 0 ? true : undefined));
      await send(jobId, [e.started("encoded", "clip.mp4"), e.progress("encoded", "clip.mp4", [50, 100])]);
      await screen.until((pane) => (percentOf("combined")(pane) === 50 ? true : undefined));
      await send(jobId, [e.completed("encoded", "clip.mp4"), e.jobCompleted()]);
      const pane = await screen.until((pane) => (/EXIT=\d+/.test(pane) ? pane : undefined));
      expect(pane).toMatch(/^EXIT=0$/m);
    } finally {
      screen.close();
    }
  }, 60_000);

  it.skipIf(withoutTmux)("stops watching on Ctrl-C with exit code 130, leaving the job running (needs tmux)", async () => {
    const jobId = "watch-interrupted";
    await createJob(jobId, ["f1"]);
    const screen = terminal(jobId);
    try {
      screen.run(`'${process.execPath}' '${HEADWAY}' watch ${jobId} --url ${sandbox.http} --api-key ${sandbox.apiKey}; echo EXIT=$?; sleep 30`);
      await screen.until((pane) => (/^combined\s/m.test(pane) ? true : undefined));
      expect(screen.sendKeys("C-c").status).toBe(0);
      const pane = await screen.until((pane) => (/EXIT=\d+/.test(pane) ? pane : undefined));
      expect(pane).toMatch(/stopped watching watch-interrupted \(the job goes on\)/);
      expect(pane).toMatch(/^EXIT=130$/m);
    } finally {
      screen.close();
    }
  }, 60_000);

  it("prints one JSON snapshot per line when piped with --json, at once and live even for a job that asked for no progress events, and exits 1 with the error when the job fails", async () => {
    const jobId = "watch-json";
    await createJob(jobId, ["f1"], false);
    const e = eventFactory(jobId, Date.now());
    const child = spawn(process.execPath, [HEADWAY, "watch", jobId, "--json", "--url", sandbox.http, "--api-key", sandbox.apiKey], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString("utf8")));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString("utf8")));
    const exited = new Promise<number | null>((resolve) => child.once("exit", resolve));
    const lines = () => stdout.split("\n").filter((line) => line !== "");
    try {
      await eventually(() => (lines().length >= 1 ? true : undefined), () => stdout + stderr);
      await send(jobId, [e.started("encoded", "f1"), e.progress("encoded", "f1", [40, 100], { unit: "Bytes", message: "encoding f1" })]);
      await eventually(() => (stdout.includes("encoding f1") ? true : undefined), () => stdout + stderr);
      await send(jobId, [e.failed("encoded", "f1", false), e.jobFailed("the encoder crashed")]);
      expect(await exited).toBe(1);
    } finally {
      child.kill();
    }
    expect(stdout).not.toMatch(/\x1b/);
    const snapshots = lines().map((line) => JSON.parse(line) as JobSnapshot);
    expect(snapshots.length).toBeGreaterThanOrEqual(3);
    for (const snapshot of snapshots) expect(snapshot).toMatchObject({ v: 1, job_id: jobId });
    const versions = snapshots.map((snapshot) => snapshot.version);
    expect(versions).toEqual([...new Set(versions)].sort((a, b) => a - b));
    expect(snapshots.some((snapshot) => snapshot.detail?.in_flight?.[0]?.unit === "Bytes")).toBe(true);
    expect(snapshots.at(-1)).toMatchObject({ status: "failed", error: "the encoder crashed", progress_per_original_file: [{ original_id: "f1", status: "failed" }] });
    expect(stderr).toContain("job watch-json failed: the encoder crashed");
    expect(stderr).toContain("f1 failed: boom");
  }, 60_000);

  it("says what is wrong when the API key is refused, and exits 1", async () => {
    // Not spawnSync: the sandbox runs in this process and must answer meanwhile.
    const child = spawn(process.execPath, [HEADWAY, "watch", "any-job", "--url", sandbox.http, "--api-key", "hw_wrong"], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString("utf8")));
    expect(await new Promise((resolve) => child.once("exit", resolve))).toBe(1);
    expect(stderr).toMatch(/^headway watch: the API key was refused/);
  });
});
