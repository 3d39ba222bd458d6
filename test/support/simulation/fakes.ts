/**
 * The in-memory fakes of one run (test/support/fakes/), built over the run's fault plan and
 * clock, with the bookkeeping the webhook guarantees need: which sender batch first recorded an
 * endpoint gone, and which batch made each receiver attempt.
 */
import {
  createFakeApiKeys,
  createFakeChangeFeed,
  createFakeConnections,
  createFakeGateway,
  createFakeJobStore,
  createFakeLease,
  createFakeReceivers,
  createFakeRejectionLog,
  createFakeSqs,
  createFakeWebhookAccounts,
  createFakeWebhookLog,
  createFakeWebhookQueue,
} from "../fakes/index.ts";
import type { FaultPlan } from "./chaos.ts";
import type { Run } from "./model.ts";

/** Each tenant signs with its own secret. */
const secretOf = (tenant: string) => `whsec_${Buffer.from(`sim-webhook-secret-of-${tenant}`.padEnd(32, "!")).toString("base64")}`;

export type SimFakes = ReturnType<typeof createSimFakes>;

export function createSimFakes(run: Run, { chaos }: FaultPlan) {
  const { options, now } = run;
  const storePlant = options.plant === "parts-expire-by-own-write" || options.plant === "refused-create-indexed" ? options.plant : undefined;
  const store = createFakeJobStore(chaos, { now, ...(storePlant === undefined ? {} : { plant: storePlant }) });
  const apiKeys = createFakeApiKeys(chaos, options.plant === "revocation-ignored" ? "revocation-ignored" : undefined);
  const feed = createFakeChangeFeed(chaos);
  const rejections = createFakeRejectionLog(chaos);
  const { connections, subscriptions } = createFakeConnections(chaos);
  const lease = createFakeLease(chaos, now);
  const webhookLog = createFakeWebhookLog(chaos);
  const eventsSqs = createFakeSqs({ now, visibilityMs: 30_000, name: "events" });
  const webhookSqs = createFakeSqs({ now, visibilityMs: 30_000, name: "webhooks" });
  const webhookQueue = createFakeWebhookQueue(chaos, webhookSqs);
  const gateway = createFakeGateway(chaos);
  /** The endpoints that answer 410 Gone for good. */
  const goneUrls = new Set<string>();
  const receivers = createFakeReceivers(chaos, goneUrls);
  const webhookAccounts = createFakeWebhookAccounts(chaos, secretOf);
  const fakes = {
    store, apiKeys, feed, rejections, connections, subscriptions, lease, webhookLog, eventsSqs, webhookSqs, webhookQueue, gateway, goneUrls, receivers, webhookAccounts,
    /**
     * The sender batch in which each endpoint was first recorded gone: no later batch may try it
     * (deliveries of the same batch may already be in flight when the 410 comes back).
     */
    goneMarkedInBatch: new Map<string, number>(),
    /** The sender batch of each receiver attempt, by index. */
    batchOfAttempt: [] as number[],
    /** Sender batches started so far (the current one's number). */
    senderBatches: 0,
  };
  const markGone = webhookAccounts.endpoints.markGone;
  webhookAccounts.endpoints.markGone = async (tenant: string, url: string, atMs: number) => {
    await markGone(tenant, url, atMs);
    if (!fakes.goneMarkedInBatch.has(url)) fakes.goneMarkedInBatch.set(url, fakes.senderBatches);
  };
  return fakes;
}
