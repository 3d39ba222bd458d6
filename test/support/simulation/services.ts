/**
 * The real services of one run, each invocation built over the fakes and wrapped so that it can
 * die mid-way: reducer batches from the events queue, webhook sender batches, two tickers taking
 * turns with a shared lease (each with its WebSocket and webhook channels), and the connection
 * sweep. The queues' batches are SQS's: a message now and then twice, a delete now and then lost.
 */
import type { SQSBatchResponse, SQSRecord } from "aws-lambda";
import type { Lease, Poster } from "../../../core/ports.ts";
import { silentLog as log } from "../../../functions/config.ts";
import { createConnectionSweep } from "../../../functions/connection-sweep.ts";
import { createReducerHandler } from "../../../functions/reducer/index.ts";
import { createWebhookChannel } from "../../../functions/ticker/channels/webhooks.ts";
import { createWebSocketChannel } from "../../../functions/ticker/channels/websocket.ts";
import { createTicker, type Ticker } from "../../../functions/ticker/index.ts";
import { createWebhookSender } from "../../../functions/webhook-sender.ts";
import { InjectedFault, type FakeSqs } from "../fakes/index.ts";
import type { Audience } from "./clients.ts";
import type { SimContext } from "./context.ts";
import type { Life } from "./model.ts";
import { claimingBeforePost, clearIgnoringVersion, markerOnlyWhenVersionMoved } from "./plants.ts";

/** A tick that could not take the lease or read the change feed fails whole (the run logs it and ticks again): the only throws a tick may make. */
const WHOLE_TICK_SITES = new Set(["lease.acquire", "feed.changedJobs"]);

interface TickerSlot {
  name: string;
  life: Life;
  ticker: Ticker;
  /** Between taking the lease and the end of its tick. */
  isTicking: boolean;
}

export type Services = ReturnType<typeof startServices>;

/** The services, tickers A and B started (a ticker whose run died is started again at its next tick). */
export function startServices(ctx: SimContext, audience: Audience) {
  const { mortal } = ctx.faults;
  const { store, feed, rejections, eventsSqs, webhookSqs, receivers, webhookQueue, webhookLog, webhookAccounts, connections, apiKeys, gateway } = ctx.fakes;
  const reducerFeed = ctx.options.plant === "marker-only-when-version-moved" ? markerOnlyWhenVersionMoved(feed) : feed;
  const tickers: TickerSlot[] = [];
  tickers.push(startTicker(ctx, audience, tickers, "A"), startTicker(ctx, audience, tickers, "B"));
  return {
    async reducerBatch(life: Life): Promise<void> {
      // Now and then the largest batch the event source hands over: every visible message at once.
      const records = take(ctx, eventsSqs, ctx.features.takesLargeBatches && ctx.random() < 0.3 ? 500 : 6, "reducer");
      if (records.length === 0) return;
      if (records.length > 8) ctx.count("large reducer batches");
      const delayMessage = mortal(
        {
          async delay(receiptHandle: string, seconds: number) {
            await ctx.faults.chaos.pause();
            if (ctx.faults.chaos.fails("sqs.changeVisibility")) throw new InjectedFault("sqs.changeVisibility");
            eventsSqs.changeVisibility(receiptHandle, seconds);
          },
        },
        life,
      ).delay;
      const handler = createReducerHandler({ store: mortal(store, life), changeFeed: mortal(reducerFeed, life), rejections: mortal(rejections, life), delayMessage, log, now: ctx.now, defaultTenant: "default", maxReceiveCount: 1_000_000, pendingUnknownJobSeconds: 1e9, jobConcurrency: 2 });
      const given = ctx.options.plant === "large-batch-acks-unapplied" && records.length > 8 ? records.slice(0, 8) : records;
      acknowledge(ctx, eventsSqs, records, await handler({ Records: given }), "reducer");
    },

    async senderBatch(life: Life): Promise<void> {
      const records = take(ctx, webhookSqs, 4, "sender");
      if (records.length === 0) return;
      const sender = createWebhookSender({ transport: mortal(receivers, life), queue: mortal(webhookQueue, life), deliveries: mortal(webhookLog, life), secrets: mortal(webhookAccounts.secrets, life), endpoints: mortal(webhookAccounts.endpoints, life), now: ctx.now, log });
      const batch = ++ctx.fakes.senderBatches;
      try {
        acknowledge(ctx, webhookSqs, records, await sender({ Records: records }), "sender");
      } finally {
        while (ctx.fakes.batchOfAttempt.length < receivers.attempts.length) ctx.fakes.batchOfAttempt.push(batch);
      }
    },

    async tick(index: number): Promise<void> {
      let slot = tickers[index]!;
      if (slot.life.isDead) slot = tickers[index] = startTicker(ctx, audience, tickers, `${slot.name}'`);
      ctx.note(`ticker ${slot.name} ticks`);
      try {
        const report = await slot.ticker.tick();
        if (report.ticked) ctx.count("ticks");
        ctx.note(`ticker ${slot.name}: ${JSON.stringify(report)}`);
      } catch (error) {
        if (error instanceof InjectedFault && WHOLE_TICK_SITES.has(error.site)) ctx.note(`ticker ${slot.name}: the tick failed whole (${error.site})`);
        else ctx.violation(`ticker ${slot.name}: a tick threw ${String(error)}`);
      } finally {
        slot.isTicking = false;
      }
    },

    async endRun(index: number): Promise<void> {
      const slot = tickers[index]!;
      if (slot.life.isDead) return; // a run that died lets its lease lapse
      ctx.note(`ticker ${slot.name}'s run ends`);
      await slot.ticker.release().catch(() => {});
    },

    /** The sweep the ticker's Lambda runs beside its ticks: connections whose token lapsed are told and closed. */
    async sweep(life: Life): Promise<void> {
      const connectionSweep = createConnectionSweep({ connections: mortal(connections, life), apiKeys: mortal(apiKeys, life), poster: mortal(gateway.poster, life), now: ctx.now, log });
      try {
        const { closed } = await connectionSweep.sweep();
        ctx.count("connections closed by a sweep", closed);
      } catch (error) {
        if (!(error instanceof InjectedFault)) ctx.violation(`a sweep threw ${String(error)}`);
      }
    },
  };
}

function startTicker(ctx: SimContext, audience: Audience, tickers: readonly TickerSlot[], name: string): TickerSlot {
  const { mortal } = ctx.faults;
  const { store, feed, lease, gateway, subscriptions, connections, webhookLog, webhookQueue } = ctx.fakes;
  const life: Life = { isDead: false };
  const slot = { name, life, isTicking: false } as TickerSlot;
  /** The shared lease, watched: a ticker that takes it while the other (alive) is mid-tick is two tickers ticking at once. */
  const watchedLease: Lease = {
    async acquire(owner, forMs) {
      const isTaken = await lease.acquire(owner, forMs);
      if (isTaken && tickers.some((other) => other !== slot && other.isTicking && !other.life.isDead)) ctx.count("ticks while the other ticker was mid-tick");
      slot.isTicking ||= isTaken;
      return isTaken;
    },
    release: (owner) => lease.release(owner),
  };
  const poster: Poster = ctx.options.plant === "finished-claimed-before-post" ? claimingBeforePost(gateway.poster, store, subscriptions, (connectionId) => audience.byConnection.get(connectionId)?.tenant) : gateway.poster;
  slot.ticker = createTicker({
    store: mortal(store, life),
    changeFeed: mortal(ctx.options.plant === "clear-ignores-version" ? clearIgnoringVersion(feed) : feed, life),
    lease: mortal(watchedLease, life),
    channels: [
      createWebSocketChannel({ subscriptions: mortal(subscriptions, life), connections: mortal(connections, life), poster: mortal(poster, life) }),
      createWebhookChannel({ log: mortal(webhookLog, life), queue: mortal(webhookQueue, life), now: ctx.now, statusUrlOf: (jobId) => `https://headway.example/v1/jobs/${jobId}` }),
    ],
    log,
    now: ctx.now,
  });
  ctx.note(`ticker ${name} starts`);
  return slot;
}

/** A batch of up to `max` messages for `who`, now and then with one of them twice (SQS delivers at least once). */
function take(ctx: SimContext, queue: FakeSqs, max: number, who: string): SQSRecord[] {
  const records = queue.receive(1 + ctx.draw(max), ctx.random);
  if (records.length === 0) return records;
  if (ctx.faults.deliversTwice()) records.push({ ...records[ctx.draw(records.length)]! });
  ctx.note(`${who} takes ${records.map((record) => record.messageId).join(" ")}`);
  return records;
}

/** Deletes what the handler did not report as failed, unless the delete is lost (the message then comes back). */
function acknowledge(ctx: SimContext, queue: FakeSqs, records: readonly SQSRecord[], response: SQSBatchResponse, who: string): void {
  const failed = new Set(response.batchItemFailures.map((failure) => failure.itemIdentifier));
  if (failed.size > 0) ctx.note(`${who} failed ${[...failed].join(" ")}`);
  for (const messageId of new Set(records.map((record) => record.messageId))) {
    if (failed.has(messageId)) continue;
    if (ctx.faults.deliversTwice()) ctx.note(`${who}: the delete of ${messageId} is lost`);
    else queue.delete(messageId);
  }
}
