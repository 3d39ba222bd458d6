import { describe, expect, it } from "vitest";
import type { FileProgress, Snapshot } from "../core/contract/snapshot.ts";
import { WEBHOOK_BODY_MAX_BYTES, WebhookBody, WebhookDelivery } from "../core/contract/webhooks.ts";
import { statusUrlOf, webhookBody } from "../core/delivery/webhooks.ts";

const NOW = Date.parse("2026-11-22T10:00:00.000Z");
const STATUS_URL = statusUrlOf("https://headway.example", "job-1");

function snapshot(files: FileProgress[], indicators: Snapshot["indicators"] = [{ label: null, done: 3, total: 10 }]): Snapshot {
  return { v: 1, job_id: "job-1", status: "completed", version: 42, progress_combined: 100, progress_per_original_file: files, indicators, eta_seconds: 0, updated_at: new Date(NOW).toISOString() };
}

const parse = (body: string) => WebhookBody.parse(JSON.parse(body));

describe("webhook bodies", () => {
  it("carries a small job's snapshot whole, with files_total, files_truncated: false and status_url", () => {
    const files: FileProgress[] = [
      { original_id: "a", progress: 100 },
      { original_id: "b", progress: 40 },
    ];
    const body = parse(webhookBody("job.finished", snapshot(files), { statusUrl: STATUS_URL, nowMs: NOW }));
    expect(body).toMatchObject({ type: "job.finished", timestamp: "2026-11-22T10:00:00.000Z" });
    expect(body.data).toMatchObject({ job_id: "job-1", version: 42, files_total: 2, files_truncated: false, indicators_total: 1, indicators_truncated: false, status_url: "https://headway.example/v1/jobs/job-1" });
    expect(body.data.progress_per_original_file.map((f) => f.original_id).sort()).toEqual(["a", "b"]);
  });

  it("puts failed files first, then files without an estimate, then the least advanced, ties in the snapshot's order", () => {
    const files: FileProgress[] = [
      { original_id: "a", progress: 100 },
      { original_id: "b", progress: 20 },
      { original_id: "c", progress: null },
      { original_id: "d", progress: 100, status: "failed", error: "boom" },
      { original_id: "e", progress: 20 },
      { original_id: "f", progress: 0 },
    ];
    const body = parse(webhookBody("job.progress", snapshot(files), { statusUrl: STATUS_URL, nowMs: NOW }));
    expect(body.data.progress_per_original_file.map((f) => f.original_id)).toEqual(["d", "c", "f", "b", "e", "a"]);
  });

  it("leaves out the opt-in detail view", () => {
    const withDetail = { ...snapshot([]), detail: { true_progress_combined: 100, true_progress_per_original_file: [], steps: [], in_flight: [], in_flight_total: 0 } };
    expect(JSON.parse(webhookBody("job.finished", withDetail, { statusUrl: STATUS_URL, nowMs: NOW })).data).not.toHaveProperty("detail");
  });

  it("stays under 64 KiB for 100,000 files with 128-character ids and 4,000-character errors, and its queue message under 256 KB", () => {
    // Quotes, backslashes and control characters: each grows when escaped, once in the body and again in the queue message.
    const error = `"\\\u0001€`.repeat(1000);
    const files: FileProgress[] = Array.from({ length: 100_000 }, (_, i) => {
      const id = `${String(i).padStart(6, "0")}-${"x".repeat(121)}`;
      return i % 7 === 0 ? { original_id: id, progress: 100, status: "failed", error } : { original_id: id, progress: i % 101 };
    });
    const labels = Array.from({ length: 1_000 }, (_, i) => ({ label: `${i}${"€".repeat(96)}`, done: 0.1 + i, total: 1e12 - 0.5 }));
    const body = webhookBody("job.finished", snapshot(files, labels), { statusUrl: statusUrlOf(`https://${"h".repeat(200)}.example`, "job-1"), nowMs: NOW });
    expect(Buffer.byteLength(body)).toBeLessThanOrEqual(WEBHOOK_BODY_MAX_BYTES);
    const data = parse(body).data;
    expect(data).toMatchObject({ files_total: 100_000, files_truncated: true, indicators_total: 1_000, indicators_truncated: true });
    expect(data.progress_per_original_file.length).toBeGreaterThan(0);
    expect(data.progress_per_original_file.every((file) => file.status === "failed" && file.error === error)).toBe(true);
    expect(data.indicators.length).toBeGreaterThan(0);

    const message = JSON.stringify(WebhookDelivery.parse({ v: 1, webhook_id: `msg_${"j".repeat(128)}_finished`, tenant: "t".repeat(200), job_id: "job-1", incarnation: "x".repeat(64), url: `https://${"u".repeat(1990)}.io`, body, attempt: 9, not_before_ms: NOW }));
    expect(Buffer.byteLength(message)).toBeLessThan(256 * 1024);
  });

  it("fills the page: the next file in order would not have fit", () => {
    const files: FileProgress[] = Array.from({ length: 5_000 }, (_, i) => ({ original_id: `f${String(i).padStart(5, "0")}`, progress: i % 100 }));
    const maxBytes = 8 * 1024;
    const body = webhookBody("job.progress", snapshot(files), { statusUrl: STATUS_URL, nowMs: NOW, maxBytes });
    const data = parse(body).data;
    const kept = data.progress_per_original_file.length;
    expect(Buffer.byteLength(body)).toBeLessThanOrEqual(maxBytes);
    expect(data.files_truncated).toBe(true);
    const order = files.map((file, index) => ({ file, index })).sort((a, b) => a.file.progress! - b.file.progress! || a.index - b.index).map(({ file }) => file);
    expect(data.progress_per_original_file).toEqual(order.slice(0, kept));
    const nextFile = order[kept]!;
    const grown = JSON.stringify({ ...JSON.parse(body), data: { ...data, progress_per_original_file: [...data.progress_per_original_file, nextFile] } });
    expect(Buffer.byteLength(grown), `${kept} files kept`).toBeGreaterThan(maxBytes);
  });

  it("keeps every body of a job of any size under the limit (sizes 0 to 20,000)", () => {
    for (const count of [0, 1, 10, 100, 1_000, 1_500, 2_000, 20_000]) {
      const files: FileProgress[] = Array.from({ length: count }, (_, i) => ({ original_id: `file-${i}`, progress: i % 3 === 0 ? null : i % 100 }));
      const body = webhookBody("job.progress", snapshot(files), { statusUrl: STATUS_URL, nowMs: NOW });
      expect(Buffer.byteLength(body), `${count} files`).toBeLessThanOrEqual(WEBHOOK_BODY_MAX_BYTES);
      const data = parse(body).data;
      expect(data.files_total).toBe(count);
      expect(data.files_truncated).toBe(data.progress_per_original_file.length < count);
    }
  });
});
