/**
 * The dashboard as a person sees it: a sandbox, its page in a real headless Chromium (Debian's
 * `chromium` driven by playwright-core), and a job driven by events over HTTP while the page's
 * bars are read. Saves docs/dashboard.png (the README's screenshot). Skipped, saying so, where no
 * Chromium is installed; in CI (which installs it) a missing Chromium fails.
 */
import { existsSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { chromium, type Browser, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { silentLog } from "../functions/config.ts";
import { startSandbox, type Sandbox } from "../sandbox/sandbox.ts";
import { skipWithout } from "./support/system-tools.ts";

const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const withoutChromium = skipWithout(`Chromium at ${CHROMIUM}`, existsSync(CHROMIUM), "apt-get install -y chromium, or set CHROMIUM_PATH");
// The screenshots go to docs/ (the README's and docs/dashboard.md's pictures) when asked for with
// HEADWAY_SCREENSHOTS=docs, else to a temporary folder, so a test run leaves the tree as it was.
const SCREENSHOTS = process.env.HEADWAY_SCREENSHOTS === "docs" ? join(import.meta.dirname, "..", "docs") : mkdtempSync(join(tmpdir(), "headway-dashboard-"));
const SCREENSHOT = join(SCREENSHOTS, "dashboard.png");
const COMMANDS_SCREENSHOT = join(SCREENSHOTS, "dashboard-commands.png");

let sandbox: Sandbox;
let browser: Browser;
let receiver: Server;

describe.skipIf(withoutChromium)("the dashboard in headless Chromium", () => {
  beforeAll(async () => {
    [sandbox, browser] = await Promise.all([
      startSandbox({ port: 0, memory: true, dataDir: "", log: silentLog, batchingWindowMs: 20, tickMs: 300 }),
      chromium.launch({ executablePath: CHROMIUM }),
    ]);
    // A webhook receiver, so the job's webhook log has deliveries to show.
    receiver = createServer((_request, response) => response.end("ok"));
    await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", resolve));
  });
  afterAll(async () => {
    await browser?.close();
    receiver?.close();
    await sandbox?.stop();
  });

  it("shows a job's bars moving while it runs, and every bar at 100 when it completes", async () => {
    // Arrange: a job of two files with counted work and a webhook, and the page watching it.
    const jobId = "render-trailer";
    await post("/v1/jobs", {
      job_id: jobId,
      plan: { steps: { encoded: { robot: "/video/encode", use: ":original" } } },
      originals: [{ original_id: "intro.mp4", mime: "video/mp4" }, { original_id: "trailer.mp4", mime: "video/mp4" }],
      emit_execution_progress: true,
      notify_url: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`,
    });
    const page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
    // Nothing may go wrong on the page: no exception, no console error, no failed request (a
    // missing favicon is a console error too).
    const errors: string[] = [];
    page.on("pageerror", (error) => errors.push(String(error)));
    page.on("console", (message) => {
      if (message.type() === "error") errors.push(`console: ${message.text()}`);
    });
    page.on("response", (response) => {
      if (response.status() >= 400) errors.push(`${response.status()} ${response.url()}`);
    });
    await page.goto(`${sandbox.dashboard}#job=${jobId}`);
    await expect.poll(() => page.inputValue("#api-key")).toBe(sandbox.apiKey);
    await page.waitForSelector(`[data-job="${jobId}"]`);

    // Act and assert: progress in steps; the page follows each.
    const intro = { step: "encoded", original_id: "intro.mp4", attempt: 1 };
    const trailer = { step: "encoded", original_id: "trailer.mp4", attempt: 1 };
    await events(jobId, [
      ["step.started", intro],
      ["step.started", trailer],
      ["step.progress", { ...intro, progress: [30, 100], unit: "Bytes", step_index: [0, 2], message: "pass 1: analysing" }],
      ["step.progress", { ...trailer, progress: [10, 100], unit: "Bytes", message: "demuxing" }],
      ["indicator.reported", { label: "thumbnails", task_id: "thumbs", attempt: 1, added: 10, done: 2 }],
    ]);
    const first = await waitForBar(page, "combined", (value) => value > 0);
    expect(await barValue(page, "file:intro.mp4")).toBeGreaterThan(0);
    expect(await barValue(page, "label:thumbnails")).toBe(20);
    await page.waitForSelector('[data-table="in-flight"] >> text=pass 1: analysing');

    await events(jobId, [
      ["step.progress", { ...intro, progress: [80, 100], unit: "Bytes", step_index: [1, 2], message: "pass 2: encoding" }],
      ["step.progress", { ...trailer, progress: [55, 100], unit: "Bytes", message: "encoding" }],
      ["step.progress", { step: "thumbs", original_id: "intro.mp4", attempt: 1, progress: [1, 2] }], // no such step: a rejection to show
      ["indicator.reported", { label: "thumbnails", task_id: "thumbs", attempt: 1, added: 10, done: 6 }],
    ]);
    const second = await waitForBar(page, "combined", (value) => value > first);
    expect(second).toBeLessThan(100);
    expect(await barValue(page, "label:thumbnails")).toBe(60);
    await page.waitForSelector('[data-table="in-flight"] >> text=pass 2: encoding');
    await page.waitForSelector('[data-table="rejections"] >> text=unknown_step');
    // The progress over time: from 0 at the job's creation up to the figure shown now, and the
    // ETA's forecast drawn beside it.
    await expect.poll(() => chartHeights(page), { timeout: 10_000 }).toEqual({ first: 0, last: second });
    await page.waitForSelector('[data-chart="history"] [data-series="forecast"]', { state: "attached" });
    // A page opened now draws the job's past too (the history the service kept), not only what it saw.
    const later = await browser.newPage({ viewport: { width: 1100, height: 900 } });
    await later.goto(`${sandbox.dashboard}#job=${jobId}`);
    await expect.poll(() => chartHeights(later), { timeout: 10_000 }).toEqual({ first: 0, last: second });
    await later.close();
    await page.screenshot({ path: SCREENSHOT, fullPage: true });

    await events(jobId, [
      ["step.completed", { ...intro, result_count: 1 }],
      ["step.completed", { ...trailer, result_count: 1 }],
      ["indicator.reported", { label: "thumbnails", task_id: "thumbs", attempt: 1, added: 10, done: 10 }],
      ["job.completed", {}],
    ]);
    await page.waitForSelector('#job [data-status="completed"]');
    for (const name of ["combined", "file:intro.mp4", "file:trailer.mp4", "label:thumbnails"]) expect(await barValue(page, name), name).toBe(100);
    await waitForBar(page, `job:${jobId}`, (value) => value === 100); // the list, refreshed every 2 s
    await page.waitForSelector('[data-table="webhooks"] >> text=delivered');
    // Finished: the real end is drawn across the forecast panel, and no forecast is projected.
    await page.waitForSelector('[data-chart="history"] [data-series="finish"]', { state: "attached" });
    expect(await page.$('[data-chart="history"] [data-series="projection"]')).toBeNull();
    expect(errors).toEqual([]);
    await page.close();
  }, 90_000);

  it("shows a plan-less job's commands live: each one's progress, sub-step, message and time of report", async () => {
    // A job of commands (Golem's): no plan, no files, no counted work; its frames carry only the detail.
    const jobId = "deploy-image";
    await post("/v1/jobs", { job_id: jobId });
    const page = await browser.newPage({ viewport: { width: 1100, height: 700 } });
    const errors: string[] = [];
    page.on("pageerror", (error) => errors.push(String(error)));
    await page.goto(`${sandbox.dashboard}#job=${jobId}`);
    await page.waitForSelector(`#job [data-status]`);

    const transfer = { step: "transfer", input_id: "image.tar", attempt: 1 };
    const deploy = { step: "deploy", input_id: "vm-1", attempt: 1 };
    await events(jobId, [
      ["step.started", transfer],
      ["step.progress", { ...transfer, progress: [300, 1024], unit: "Bytes", step_index: [0, 2], message: "downloading" }],
      ["step.started", deploy],
      ["step.progress", { ...deploy, progress: [1, 4], step_index: [1, 4], message: "unpacking layers" }],
    ]);
    await page.waitForSelector('[data-table="in-flight"] >> text=downloading');
    await page.waitForSelector('[data-table="in-flight"] >> text=unpacking layers');
    expect(await barValue(page, "command:transfer:image.tar")).toBe(29);
    expect(await barValue(page, "command:deploy:vm-1")).toBe(25);
    expect(await barValue(page, "combined")).toBeNull();
    expect(await page.textContent("#job h3:has-text('In flight')")).toBe("In flight (2)");

    await events(jobId, [["step.progress", { ...transfer, progress: [0, 1024], unit: "Bytes", step_index: [0, 2], message: "Transfer retried" }]]);
    await page.waitForSelector('[data-table="in-flight"] >> text=Transfer retried');
    expect(await barValue(page, "command:transfer:image.tar")).toBe(0);
    const reported = await page.textContent('[data-table="in-flight"] tbody tr:first-child td:last-child');
    expect(reported).toMatch(/\d/); // the time of the report, in the page's locale
    await page.screenshot({ path: COMMANDS_SCREENSHOT, fullPage: true });

    await events(jobId, [["step.completed", { ...transfer, result_count: 1 }], ["step.completed", { ...deploy, result_count: 1 }], ["job.completed", {}]]);
    await page.waitForSelector('#job [data-status="completed"]');
    expect(errors).toEqual([]);
    await page.close();
  }, 90_000);
});

async function post(path: string, body: unknown): Promise<unknown> {
  const response = await fetch(`${sandbox.http}${path}`, { method: "POST", headers: { authorization: `Bearer ${sandbox.apiKey}` }, body: JSON.stringify(body) });
  if (!response.ok) throw new Error(`POST ${path}: ${response.status} ${await response.text()}`);
  return response.json();
}

let sequence = 0;
async function events(jobId: string, list: [type: string, fields: Record<string, unknown>][]): Promise<void> {
  const at = new Date().toISOString();
  await post(`/v1/jobs/${jobId}/events`, { v: 1, events: list.map(([type, fields]) => ({ v: 1, type, job_id: jobId, event_id: `e${++sequence}`, at, ...fields })) });
}

/** The percentages the chart's progress line starts and ends at (read back from its heights). */
async function chartHeights(page: Page): Promise<{ first: number; last: number } | null> {
  const path = await page.getAttribute('[data-chart="history"] [data-series="progress"]', "d").catch(() => null);
  if (path === null) return null;
  const heights = [...path.matchAll(/(?:M[\d.]+,|V)([\d.]+)/g)].map((match) => Number(match[1]));
  // The panel's 0 % line is at y = 130 and its 100 % line at y = 10 (web/page/chart-geometry.ts).
  const percent = (y: number) => Math.round(((130 - y) / 120) * 100);
  return { first: percent(heights[0]!), last: percent(heights.at(-1)!) };
}

async function barValue(page: Page, name: string): Promise<number | null> {
  const value = await page.getAttribute(`[data-bar="${name}"]`, "aria-valuenow");
  return value === null ? null : Number(value);
}

async function waitForBar(page: Page, name: string, isReached: (value: number) => boolean): Promise<number> {
  let last: number | null = null;
  await expect
    .poll(async () => {
      last = await barValue(page, name).catch(() => null);
      return last !== null && isReached(last);
    }, { timeout: 20_000, interval: 100 })
    .toBe(true);
  return last!;
}
