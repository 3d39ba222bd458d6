/**
 * The webhook channel: for each job with a `notify_url`, `job.finished` for every final version
 * (a finished job that changes again is announced again, so the receiver's last body is the last
 * stored version) and `job.progress` for the highest milestone the displayed figure newly
 * reached. A delivery is enqueued first and recorded after: a crash between the two enqueues it
 * again next tick with the same `webhook-id` (the receiver's idempotency key), never loses it.
 * A job whose webhook cannot be enqueued is retried next tick; the others go on.
 */
import type { WebhookLog, WebhookQueue } from "../../../core/ports.ts";
import { webhookDeliveryFor } from "../../../core/delivery/webhooks.ts";
import type { Log } from "../../config.ts";
import type { DeliveryChannel, RenderedJob } from "./channel.ts";

export function createWebhookChannel(deps: { log: WebhookLog; queue: WebhookQueue; now: () => number; statusUrlOf: (jobId: string) => string }): DeliveryChannel {
  /** Whether a webhook was enqueued. */
  async function deliver(rendered: RenderedJob): Promise<boolean> {
    const { job, state, snapshot } = rendered;
    const url = state.notifyUrl?.value;
    if (url === undefined) return false;
    let key: string;
    let type: "job.finished" | "job.progress";
    let covers: string[];
    if (rendered.isFinished) {
      key = `finished-v${state.version}`;
      type = "job.finished";
      covers = [key];
    } else {
      const shown = snapshot.progress_combined;
      if (shown === null) return false;
      const reached = (state.notifyMilestones?.value ?? []).filter((milestone) => milestone <= shown);
      if (reached.length === 0) return false;
      covers = reached.map((milestone) => `milestone-${milestone}`);
      key = `milestone-${Math.max(...reached)}`;
      type = "job.progress";
    }
    const done = await deps.log.enqueued(job, covers);
    if (done.has(key)) return false;
    const delivery = webhookDeliveryFor({ job, key, type, url, snapshot, nowMs: deps.now(), statusUrl: deps.statusUrlOf(job.jobId) });
    await deps.queue.enqueue(delivery, 0);
    await deps.log.markEnqueued(job, covers);
    return true;
  }

  return {
    name: "webhooks",
    async deliver(jobs, _tick, logger) {
      const retry = new Set<RenderedJob>();
      let sent = 0;
      await Promise.all(
        jobs.map(async (rendered) => {
          try {
            if (await deliver(rendered)) sent++;
          } catch (error) {
            logger("warn", "webhook not enqueued; tried again next tick", { tenant: rendered.job.tenant, job_id: rendered.job.jobId, error: String(error) });
            retry.add(rendered);
          }
        }),
      );
      return { retry, sent, dropped: 0 };
    },
  };
}
