import { describe, expect, it } from "vitest";
import type { Event, Message } from "../core/contract/events.ts";
import { countUtf8Bytes, envelopesOf } from "../core/contract/envelopes.ts";
import { createBatcher } from "../sdk/ts/batcher.ts";
import { backoffMs, DEFAULT_RETRY } from "../sdk/ts/retry.ts";
import { eventFactory } from "./support/events.ts";

describe("retry backoff", () => {
  it("stays within the doubling ceiling and honours a longer Retry-After", () => {
    expect(backoffMs(DEFAULT_RETRY, 1, () => 0.999, null)).toBeLessThan(100);
    expect(backoffMs(DEFAULT_RETRY, 4, () => 0.999, null)).toBeLessThan(800);
    expect(backoffMs(DEFAULT_RETRY, 30, () => 1, null)).toBe(DEFAULT_RETRY.maxDelayMs);
    expect(backoffMs(DEFAULT_RETRY, 1, () => 0, 2000)).toBe(2000);
    expect(backoffMs(DEFAULT_RETRY, 1, () => 0, 60_000)).toBe(DEFAULT_RETRY.maxDelayMs);
  });
});

describe("envelopes", () => {
  it("counts UTF-8 bytes as Buffer does where there is no Buffer", () => {
    // ASCII, 2- and 3-byte characters, an astral pair, and lone surrogates (which Buffer writes as U+FFFD).
    for (const text of ["", "plain", "é ß", "€ 中文", "😀 ok", "\ud83d", "a\ude00b", "\ud83d\ud83d\ude00", JSON.stringify("\ud800 x")]) expect(countUtf8Bytes(text), text).toBe(Buffer.byteLength(text));
  });

  it("cuts at 500 events and at 256 KB", () => {
    const e = eventFactory("env");
    expect(envelopesOf(Array.from({ length: 1001 }, (_, i) => e.added(1, `t${i}`))).map((m) => ("events" in m ? m.events.length : 1))).toEqual([500, 500, 1]);
    const big = Array.from({ length: 40 }, (_, i) => e.failed("s", `f${i}`, true, { error: "x".repeat(3_900) }));
    const sizes = envelopesOf([...big, ...big, ...big]).map((m) => Buffer.byteLength(JSON.stringify(m)));
    expect(sizes.length).toBeGreaterThan(1);
    for (const size of sizes) expect(size).toBeLessThanOrEqual(256 * 1024);
  });
});

describe("batcher", () => {
  const recorder = () => {
    const sent: { jobId: string; messages: Message[] }[] = [];
    return { sent, transport: { send: async (jobId: string, messages: Message[]) => void sent.push({ jobId, messages }) } };
  };
  const eventsOf = (messages: Message[]): Event[] => messages.flatMap((m) => ("events" in m ? m.events : [m]));

  it("keeps only the latest running total of a task attempt while it waits", async () => {
    const { sent, transport } = recorder();
    const batcher = createBatcher({ transport, lingerMs: 10_000, concurrency: 2 });
    const e = eventFactory("j1");
    const report = (done: number): Event => ({ v: 1, type: "indicator.reported", job_id: "j1", event_id: `r${done}`, at: "2026-11-22T10:00:00.000Z", task_id: "t", attempt: 1, added: 10, done });
    batcher.add(report(1), "t/1");
    batcher.add(e.started("s", "f1"));
    batcher.add(report(2), "t/1");
    batcher.add(report(3), "t/1");
    expect(batcher.waiting).toBe(2);
    await batcher.flush();
    expect(sent).toHaveLength(1);
    expect(eventsOf(sent[0]!.messages).map((event) => (event.type === "indicator.reported" ? event.done : event.type))).toEqual([3, "step.started"]);
  });

  it("sends a job's batch as soon as it fills an envelope, and the rest on the linger", async () => {
    const { sent, transport } = recorder();
    const batcher = createBatcher({ transport, lingerMs: 20, concurrency: 2 });
    const e = eventFactory("j2");
    for (let i = 0; i < 501; i++) batcher.add(e.added(1, `t${i}`));
    expect(sent.map((s) => eventsOf(s.messages).length)).toEqual([500]);
    await new Promise((resolve) => setTimeout(resolve, 60));
    expect(sent.map((s) => eventsOf(s.messages).length)).toEqual([500, 1]);
  });
});
