/**
 * What carries messages, in memory: SQS queues (the events queue and the webhook queue), API
 * Gateway's connections and @connections posts, and the webhook receivers with their tenants'
 * secrets and gone endpoints.
 */
import type { SQSRecord } from "aws-lambda";
import type { PostOutcome, Poster, WebhookEndpoints, WebhookQueue, WebhookSecrets } from "../../../core/ports.ts";
import type { WebhookDelivery } from "../../../core/contract/webhooks.ts";
import type { DeliveryResult, WebhookTransport } from "../../../functions/adapters/webhook-http.ts";
import { type Chaos, InjectedFault, gate } from "./chaos.ts";

interface QueuedMessage {
  messageId: string;
  body: string;
  tenant: string | null;
  receives: number;
  sentMs: number;
  visibleAtMs: number;
}

/**
 * A standard SQS queue: messages come back in any order, a received one is hidden for the
 * visibility timeout and comes back unless deleted, a delete can be lost (the message is then
 * delivered again), and `DelaySeconds` / ChangeMessageVisibility move when it is seen next.
 */
export function createFakeSqs(options: { now: () => number; visibilityMs: number; name: string }) {
  const messages = new Map<string, QueuedMessage>();
  let sequence = 0;
  const recordOf = (message: QueuedMessage): SQSRecord => ({
    messageId: message.messageId,
    receiptHandle: `${message.messageId}#${message.receives}`,
    body: message.body,
    attributes: { ApproximateReceiveCount: String(message.receives), SentTimestamp: String(message.sentMs), SenderId: "sim", ApproximateFirstReceiveTimestamp: String(message.sentMs) },
    messageAttributes: message.tenant === null ? {} : { tenant: { dataType: "String", stringValue: message.tenant, stringListValues: [], binaryListValues: [] } },
    md5OfBody: "",
    eventSource: "aws:sqs",
    eventSourceARN: `arn:aws:sqs:us-east-1:000000000000:${options.name}`,
    awsRegion: "us-east-1",
  });
  const visible = () => [...messages.values()].filter((message) => message.visibleAtMs <= options.now());
  return {
    send(body: string, attributes: { tenant?: string | null; delaySeconds?: number } = {}): void {
      const messageId = `${options.name}-${++sequence}`;
      messages.set(messageId, { messageId, body, tenant: attributes.tenant ?? null, receives: 0, sentMs: options.now(), visibleAtMs: options.now() + (attributes.delaySeconds ?? 0) * 1000 });
    },
    /** Up to `max` visible messages in an order drawn from `random`, hidden for the visibility timeout. */
    receive(max: number, random: () => number): SQSRecord[] {
      const batch = visible()
        .map((message) => ({ message, order: random() }))
        .sort((a, b) => a.order - b.order)
        .slice(0, max)
        .map(({ message }) => message);
      for (const message of batch) {
        message.receives++;
        message.visibleAtMs = options.now() + options.visibilityMs;
      }
      return batch.map(recordOf);
    },
    /** Deletes a message that was handled; a lost delete leaves it to come back after its timeout. */
    delete(messageId: string): void {
      messages.delete(messageId);
    },
    changeVisibility(receiptHandle: string, seconds: number): void {
      const [messageId, receives] = receiptHandle.split("#");
      const message = messages.get(messageId!);
      if (message !== undefined && String(message.receives) === receives) message.visibleAtMs = options.now() + seconds * 1000;
    },
    lastId: () => `${options.name}-${sequence}`,
    /** Every message in the queue, visible or not. */
    messages: () => [...messages.values()].map(({ body, tenant }) => ({ body, tenant })),
    visibleCount: () => visible().length,
    size: () => messages.size,
    nextVisibleAtMs: () => Math.min(...[...messages.values()].map((message) => message.visibleAtMs)),
  };
}

export type FakeSqs = ReturnType<typeof createFakeSqs>;

/** The webhook queue port over a fake SQS queue (SQS delays at most 15 minutes); every delivery enqueued is kept for inspection. */
export function createFakeWebhookQueue(chaos: Chaos, sqs: FakeSqs): WebhookQueue & { enqueuedDeliveries: WebhookDelivery[] } {
  const enqueuedDeliveries: WebhookDelivery[] = [];
  return {
    enqueuedDeliveries,
    async enqueue(delivery, delaySeconds) {
      await gate(chaos, "webhookQueue.enqueue");
      enqueuedDeliveries.push(delivery);
      sqs.send(JSON.stringify(delivery), { delaySeconds: Math.max(0, Math.min(900, Math.round(delaySeconds))) });
    },
  };
}

/**
 * API Gateway's side of WebSocket connections: which are open, and where their frames go. A post
 * may be throttled or fail (an error, or a throw from `post`), or find the connection dropped for
 * good ("gone", API Gateway's 410).
 */
export function createFakeGateway(chaos: Chaos) {
  const open = new Map<string, { receive(body: string): void; closed(): void }>();
  const close = (connectionId: string) => {
    const peer = open.get(connectionId);
    open.delete(connectionId);
    peer?.closed();
  };
  /** One post: what it came to, after any fault the chaos injects. */
  async function deliver(site: string, connectionId: string, body: string): Promise<PostOutcome> {
    await chaos.pause();
    if (chaos.fails(site, connectionId)) {
      if (chaos.random() < 0.25) {
        close(connectionId);
        return "gone";
      }
      return { error: chaos.random() < 0.5 ? "throttled (429)" : "internal error (500)" };
    }
    const peer = open.get(connectionId);
    if (peer === undefined) return "gone";
    peer.receive(body);
    return "sent";
  }
  const poster: Poster = {
    async post(connectionId, frame) {
      const outcome = await deliver("poster.post", connectionId, JSON.stringify(frame));
      if (typeof outcome === "object") throw new InjectedFault("poster.post", outcome.error);
      return outcome;
    },
    postAll: (deliveries) => Promise.all(deliveries.map((delivery) => deliver("poster.postAll", delivery.connectionId, delivery.body))),
    async disconnect(connectionId) {
      await gate(chaos, "poster.disconnect");
      close(connectionId);
    },
  };
  return {
    poster,
    open(connectionId: string, peer: { receive(body: string): void; closed(): void }) {
      open.set(connectionId, peer);
    },
    close,
    isOpen: (connectionId: string) => open.has(connectionId),
  };
}

/** Webhook receivers: each answers 2xx, or (by the chaos) 429, 500 or no answer; the endpoints in `goneUrls` always answer 410. */
export function createFakeReceivers(chaos: Chaos, goneUrls: ReadonlySet<string>): WebhookTransport & { attempts: { url: string; webhookId: string; body: string; status: number | null }[] } {
  const attempts: { url: string; webhookId: string; body: string; status: number | null }[] = [];
  return {
    attempts,
    async send(url, headers, body): Promise<DeliveryResult> {
      await chaos.pause();
      let result: DeliveryResult = { kind: "response", status: 200, ms: 1 };
      if (goneUrls.has(url)) result = { kind: "response", status: 410, ms: 1 };
      else if (chaos.fails("receiver.send", url)) {
        const draw = chaos.random();
        result = draw < 0.4 ? { kind: "response", status: 429, ms: 1 } : draw < 0.8 ? { kind: "response", status: 500, ms: 1 } : { kind: "error", error: "no answer within 15000 ms", ms: 15_000 };
      }
      attempts.push({ url, webhookId: headers["webhook-id"] ?? "", body, status: result.kind === "response" ? result.status : null });
      return result;
    },
  };
}

/** Each tenant's webhook secret (one, never rotated here), and the endpoints that answered 410 Gone, with faults. */
export function createFakeWebhookAccounts(chaos: Chaos, secretOf: (tenant: string) => string): { secrets: WebhookSecrets; endpoints: WebhookEndpoints; goneMarks: number } {
  const gone = new Map<string, number>();
  const accounts = {
    goneMarks: 0,
    secrets: {
      async secretsOf(tenant: string) {
        await chaos.pause();
        if (chaos.fails("webhookSecrets.secretsOf")) throw new InjectedFault("webhookSecrets.secretsOf");
        return [{ secret: secretOf(tenant), createdAtMs: 0, expiresAtMs: null }];
      },
      async rotate(): Promise<never> {
        throw new Error("not rotated in the simulation");
      },
    } satisfies WebhookSecrets,
    endpoints: {
      async goneSince(tenant: string, url: string) {
        await chaos.pause();
        if (chaos.fails("webhookEndpoints.goneSince")) throw new InjectedFault("webhookEndpoints.goneSince");
        return gone.get(`${tenant} ${url}`) ?? null;
      },
      async markGone(tenant: string, url: string, atMs: number) {
        await chaos.pause();
        if (chaos.fails("webhookEndpoints.markGone")) throw new InjectedFault("webhookEndpoints.markGone");
        gone.set(`${tenant} ${url}`, atMs);
        accounts.goneMarks++;
      },
      async revive(tenant: string, url: string) {
        gone.delete(`${tenant} ${url}`);
      },
    } satisfies WebhookEndpoints,
  };
  return accounts;
}
