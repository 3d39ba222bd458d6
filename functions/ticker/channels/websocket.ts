/**
 * The WebSocket channel: each subscribed connection gets at most one frame per tick (a `batch`
 * when several of its jobs changed), because every PostToConnection draws on the account's shared
 * API Gateway budget. Progress goes out to a plain subscriber when the job asked for it and an estimate is available;
 * `job_finished` goes to every subscriber that has not yet had it at this version, and is recorded
 * only after its post succeeded. Connections that are gone (410) are forgotten; a post that failed
 * otherwise (throttled, timed out) leaves its jobs to the next tick, and a connection whose posts
 * fail `MAX_FAILED_TICKS` ticks in a row is closed and forgotten, so that it cannot keep a job
 * coming back forever (its client reconnects and resubscribes, and gets the current snapshot). A
 * subscriber that asked for detail gets a frame whenever the job changed, with the job's in-flight
 * executions (rendered once per job per tick, the 100 most recently reported and their total),
 * whether or not the job has a combined figure or asked for progress events.
 */
import { framesFor, jobEventFor, renderEvent, type RenderedEvent } from "../../../core/delivery/frames.ts";
import type { Connections, Delivery, Poster, Subscriptions } from "../../../core/ports.ts";
import { renderInFlight } from "../../../core/estimator/index.ts";
import type { Log } from "../../config.ts";
import type { ChannelResult, DeliveryChannel, RenderedJob } from "./channel.ts";

const MAX_FAILED_TICKS = 5;

export function createWebSocketChannel(deps: { subscriptions: Subscriptions; connections: Connections; poster: Poster }): DeliveryChannel {
  const failedTicks = new Map<string, number>();
  return {
    name: "websocket",
    async deliver(jobs: readonly RenderedJob[], tick: number, log: Log): Promise<ChannelResult> {
      const retry = new Set<RenderedJob>();
      const subscriberLists = await deps.subscriptions.subscribersOf(jobs.map((rendered) => rendered.job));
      const byConnection = new Map<string, { events: RenderedEvent[]; jobs: RenderedJob[] }>();
      jobs.forEach((rendered, index) => {
        const emits = rendered.state.emitExecutionProgress?.value ?? false;
        const plainEvent = jobEventFor(rendered.snapshot, emits);
        const detailedEvent = jobEventFor(rendered.snapshot, emits, true)!;
        // Rendered once per job for each kind of subscriber, and only if someone of that kind watches.
        let plain: RenderedEvent | undefined;
        let detailed: RenderedEvent | undefined;
        const version = rendered.state.version;
        for (const subscriber of subscriberLists[index]!) {
          const isDetailed = subscriber.detail === true;
          const jobEvent = isDetailed ? detailedEvent : plainEvent;
          if (jobEvent === null) continue;
          if (jobEvent.event === "job_finished" && (subscriber.finishedVersion ?? -1) >= version) continue;
          const event = isDetailed ? (detailed ??= renderEvent(jobEvent, tick, undefined, renderInFlight(rendered.state))) : (plain ??= renderEvent(jobEvent, tick));
          let entry = byConnection.get(subscriber.connectionId);
          if (entry === undefined) byConnection.set(subscriber.connectionId, (entry = { events: [], jobs: [] }));
          entry.events.push(event);
          entry.jobs.push(rendered);
        }
      });
      // Jobs append to their subscribers' lists in one order, so connections watching the same
      // changed jobs have equal lists: their frames are built once. The key names each job by
      // tenant and incarnation, not by id alone: two tenants' jobs may share an id (docs/storage.md),
      // and keyed by id one tenant's subscribers were sent the other's frame.
      const framesByJobs = new Map<string, string[]>();
      const deliveries: (Delivery & { jobs: RenderedJob[] })[] = [];
      for (const [connectionId, { events, jobs: itsJobs }] of byConnection) {
        // Tenants may share job ids: a frame is shared only by connections watching the same jobs of the same tenant, with or without detail.
        const key = itsJobs.map(({ job }, index) => `${job.tenant}#${job.jobId}#${job.incarnation}${events[index]!.inFlight === undefined ? "" : " detail"}`).join("\n");
        let frames = framesByJobs.get(key);
        if (frames === undefined) framesByJobs.set(key, (frames = framesFor(events, tick)));
        for (const body of frames) deliveries.push({ connectionId, body, jobs: itsJobs });
      }
      const outcomes = await deps.poster.postAll(deliveries);
      const gone = new Set<string>();
      /** Connections given up on after failing tick after tick: closed, so that their client reconnects and resubscribes. */
      const givenUp = new Set<string>();
      const finishedSent: Promise<void>[] = [];
      outcomes.forEach((outcome, index) => {
        const delivery = deliveries[index]!;
        if (outcome === "gone") gone.add(delivery.connectionId);
        else if (outcome === "sent") {
          failedTicks.delete(delivery.connectionId);
          for (const rendered of delivery.jobs) {
            if (rendered.isFinished) finishedSent.push(deps.subscriptions.markFinishedSent(delivery.connectionId, rendered.job, rendered.state.version));
          }
        } else {
          const refs = delivery.jobs.map((rendered) => rendered.job);
          log("warn", "post to connection failed", { tenant: refs[0]?.tenant, job_ids: refs.map((ref) => ref.jobId), connection_id: delivery.connectionId, error: outcome.error });
          const failures = (failedTicks.get(delivery.connectionId) ?? 0) + 1;
          failedTicks.set(delivery.connectionId, failures);
          if (failures >= MAX_FAILED_TICKS) {
            failedTicks.delete(delivery.connectionId);
            gone.add(delivery.connectionId);
            givenUp.add(delivery.connectionId);
          } else for (const rendered of delivery.jobs) retry.add(rendered);
        }
      });
      // A record that failed to be written only means `job_finished` may be sent again.
      for (const result of await Promise.allSettled(finishedSent)) {
        if (result.status === "rejected") log("warn", "could not record a job_finished sent", { error: String(result.reason) });
      }
      for (const result of await Promise.allSettled([...givenUp].map((connectionId) => deps.poster.disconnect(connectionId)))) {
        if (result.status === "rejected") log("warn", "could not close a connection given up on", { error: String(result.reason) });
      }
      for (const result of await Promise.allSettled([...gone].map((connectionId) => deps.connections.remove(connectionId)))) {
        if (result.status === "rejected") log("warn", "could not forget a gone connection", { error: String(result.reason) });
      }
      return { retry, sent: deliveries.length, dropped: gone.size };
    },
  };
}
