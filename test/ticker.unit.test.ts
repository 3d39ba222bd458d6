/**
 * The ticker clears the markers of the jobs it served while the next tick runs: that tick skips
 * a job being cleared unless it was announced again at a later version (the delivery simulation
 * checks that nothing is lost; this pins that nothing is sent twice meanwhile).
 */
import { describe, expect, it } from "vitest";
import type { ChangeFeed, ChangedJob, JobMeta } from "../core/ports.ts";
import { createJobState } from "../core/estimator/state.ts";
import type { DeliveryChannel } from "../functions/ticker/channels/channel.ts";
import { silentLog } from "../functions/config.ts";
import { createTicker } from "../functions/ticker/index.ts";
import { calm, createFakeChangeFeed, createFakeJobStore, createFakeLease } from "./support/fakes/index.ts";

const meta: JobMeta = { tenant: "t1", jobId: "a", incarnation: "i1", createdAtMs: 0 };

function withVersion(version: number) {
  const state = createJobState("a");
  state.version = version;
  return state;
}

/** A feed whose clears wait until `release()`; `failNext` makes the next clear fail. */
function heldClears(feed: ChangeFeed) {
  let release!: () => void;
  let held = new Promise<void>((resolve) => (release = resolve));
  let failNext = false;
  return {
    feed: {
      ...feed,
      async clearChanged(job: ChangedJob, version: number) {
        await held;
        if (failNext) {
          failNext = false;
          throw new Error("throttled");
        }
        await feed.clearChanged(job, version);
      },
    } satisfies ChangeFeed,
    release: () => release(),
    hold: () => (held = new Promise<void>((resolve) => (release = resolve))),
    failNextClear: () => (failNext = true),
  };
}

describe("clearing markers beside the next tick", () => {
  it("skips a job whose marker is being cleared, serves it again once announced at a later version or when the clear failed", async () => {
    const store = createFakeJobStore(calm);
    const feed = createFakeChangeFeed(calm);
    const clears = heldClears(feed);
    const served: number[] = [];
    const channel: DeliveryChannel = {
      name: "recording",
      async deliver(jobs) {
        served.push(...jobs.map((job) => job.state.version));
        return { retry: new Set(), sent: jobs.length, dropped: 0 };
      },
    };
    const ticker = createTicker({ store, changeFeed: clears.feed, channels: [channel], lease: createFakeLease(calm, Date.now), log: silentLog, now: Date.now });

    await store.createJob(meta, withVersion(1));
    await feed.markChanged([{ meta, version: 1 }], 0);
    await ticker.tick();
    expect(served).toEqual([1]);
    // The marker of v1 is still there, being cleared: not served again.
    expect(feed.pending()).toHaveLength(1);
    await ticker.tick();
    expect(served).toEqual([1]);

    // Announced again at v2 while v1's clear is held: served.
    const loaded = (await store.loadForBatch(meta, []))!;
    loaded.state.version = 2;
    await store.save(loaded, 0);
    await feed.markChanged([{ meta, version: 2 }], 0);
    await ticker.tick();
    expect(served).toEqual([1, 2]);

    // v1's clear finds v2 announced and leaves it; v2's clear takes it away.
    clears.release();
    await ticker.settled();
    expect(feed.pending()).toHaveLength(0);

    // A clear that fails leaves the marker, and the next tick serves the job again.
    clears.hold();
    await feed.markChanged([{ meta, version: 2 }], 0);
    await ticker.tick();
    clears.failNextClear();
    clears.release();
    await ticker.settled();
    expect(feed.pending()).toHaveLength(1);
    await ticker.tick();
    expect(served).toEqual([1, 2, 2, 2]);
    await ticker.settled();
    expect(feed.pending()).toHaveLength(0);
  });
});
