/** The WebSocket delivery channel over in-memory fakes: what each subscriber is sent in one tick. */
import { describe, expect, it } from "vitest";
import type { Event } from "../core/contract/events.ts";
import { foldEvents } from "../core/estimator/reduce.ts";
import type { ChangedJob } from "../core/ports.ts";
import { isFinished } from "../core/delivery/frames.ts";
import { renderSnapshot } from "../core/estimator/snapshot.ts";
import type { RenderedJob } from "../functions/ticker/channels/channel.ts";
import { createWebSocketChannel } from "../functions/ticker/channels/websocket.ts";
import { silentLog } from "../functions/config.ts";
import { eventFactory } from "./support/events.ts";
import { calm, createFakeConnections, createFakeGateway } from "./support/fakes/index.ts";

function renderedJob(tenant: string, events: Event[]): RenderedJob {
  const state = foldEvents("job-1", events, Date.parse("2026-11-22T10:00:00.000Z"));
  const job: ChangedJob = { tenant, jobId: "job-1", incarnation: `${tenant}-1`, createdAtMs: 0, version: state.version, changedAtMs: 0 };
  const snapshot = renderSnapshot(state);
  return { job, state, snapshot, isFinished: isFinished(snapshot) };
}

describe("WebSocket channel", () => {
  // Regression (found by test/delivery.simulation.test.ts): frames were shared between
  // connections watching the same job ids, so with two tenants using one id, one tenant's
  // subscribers were sent the other tenant's snapshot.
  it("sends each tenant's subscribers their own tenant's job when two tenants use the same job id", async () => {
    const { connections, subscriptions } = createFakeConnections(calm);
    const gateway = createFakeGateway(calm);
    const received = new Map<string, string[]>();
    const jobs = ["default", "acme"].map((tenant) => {
      const e = eventFactory("job-1");
      return renderedJob(tenant, [e.declared({ originals: [{ original_id: `${tenant}-f1` }] }), e.jobCompleted()]);
    });
    for (const { job } of jobs) {
      const connectionId = `${job.tenant}-connection`;
      await connections.put({ connectionId, tenant: job.tenant, scope: ["job-1"], connectedAtMs: 0, keyId: "key_000000000001", tokenExpiresAtMs: 3_600_000 });
      await subscriptions.subscribe(connectionId, job);
      gateway.open(connectionId, { receive: (body) => received.set(connectionId, [...(received.get(connectionId) ?? []), body]), closed: () => {} });
    }

    await createWebSocketChannel({ subscriptions, connections, poster: gateway.poster }).deliver(jobs, 1, silentLog);

    for (const tenant of ["default", "acme"]) {
      const frames = (received.get(`${tenant}-connection`) ?? []).map((body) => JSON.parse(body) as { event: string; data: { progress_per_original_file: { original_id: string }[] } });
      expect(frames.map((frame) => frame.event)).toEqual(["job_finished"]);
      expect(frames[0]!.data.progress_per_original_file.map((file) => file.original_id)).toEqual([`${tenant}-f1`]);
    }
  });
});
