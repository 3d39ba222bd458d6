import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import type { SQSEvent } from "aws-lambda";
import { Webhook } from "standardwebhooks";
import type { DeliveryLogEntry, WebhookLog } from "../core/ports.ts";
import { ENDPOINT_GONE_FOR_MS } from "../core/delivery/webhooks.ts";
import { type WebhookDelivery } from "../core/contract/webhooks.ts";
import { createDynamoWebhookEndpoints } from "../functions/adapters/dynamo/webhook-endpoints.ts";
import { createDynamoWebhookSecrets } from "../functions/adapters/dynamo/webhook-secrets.ts";
import { createHttpWebhookTransport } from "../functions/adapters/webhook-http.ts";
import { silentLog } from "../functions/config.ts";
import { createWebhookSender } from "../functions/webhook-sender.ts";
import { newTable, startDynalite, type TestTable } from "./support/dynamo.ts";

interface Received {
  path: string;
  headers: Record<string, string>;
  body: string;
}

let dynamo: { endpoint: string; close(): Promise<void> };
let table: TestTable;
let receiver: { url: string; received: Received[]; close(): Promise<void> };
/** The secrets' and endpoints' clock, moved by the tests; signing uses the real one (receivers check timestamps). */
let clockMs = Date.now();

beforeAll(async () => {
  dynamo = await startDynalite({ port: 0 });
  table = await newTable(dynamo.endpoint);
  const received: Received[] = [];
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      received.push({ path: request.url ?? "", headers: request.headers as Record<string, string>, body: Buffer.concat(chunks).toString() });
      response.writeHead(request.url?.startsWith("/gone") ? 410 : 204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  receiver = { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, received, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
});
afterAll(async () => {
  await receiver?.close();
  await table?.close();
  await dynamo?.close();
});

/** `isSenderOnTestClock`: the sender's clock too (stamps 410s on the endpoints' clock; nothing verifies those signatures). */
function harness(options: { isSenderOnTestClock?: boolean } = {}) {
  const log: DeliveryLogEntry[] = [];
  const deliveries: WebhookLog = { enqueued: async () => new Set(), markEnqueued: async () => {}, record: async (entry) => void log.push(entry), list: async () => [] };
  const requeued: WebhookDelivery[] = [];
  const secrets = createDynamoWebhookSecrets({ client: table.client, tableName: table.name, now: () => clockMs });
  const endpoints = createDynamoWebhookEndpoints({ client: table.client, tableName: table.name, now: () => clockMs });
  const send = createWebhookSender({
    transport: createHttpWebhookTransport({ allowPrivateAddresses: true }),
    queue: { enqueue: async (delivery) => void requeued.push(delivery) },
    deliveries,
    secrets,
    endpoints,
    now: options.isSenderOnTestClock === true ? () => clockMs : Date.now,
    log: silentLog,
  });
  let n = 0;
  /** Sends one delivery through the sender's SQS handler; answers what the receiver got (or null). */
  async function deliver(tenant: string | undefined, path: string): Promise<Received | null> {
    const before = receiver.received.length;
    const delivery = { v: 1, webhook_id: `msg_${++n}`, ...(tenant === undefined ? {} : { tenant }), job_id: `job-${n}`, incarnation: "i1", url: `${receiver.url}${path}`, body: JSON.stringify({ n }), attempt: 1, not_before_ms: 0 };
    const event = { Records: [{ messageId: `m${n}`, body: JSON.stringify(delivery) }] } as unknown as SQSEvent;
    expect(await send(event)).toEqual({ batchItemFailures: [] });
    return receiver.received.length > before ? receiver.received.at(-1)! : null;
  }
  return { deliver, secrets, endpoints, log, requeued };
}

const verifies = (secret: string, request: Received) => {
  try {
    new Webhook(secret).verify(request.body, request.headers);
    return true;
  } catch {
    return false;
  }
};

describe("webhook secrets per tenant", () => {
  it("signs a tenant's deliveries with its own secret: tenant A's verify with A's secret and not with B's", async () => {
    const { deliver, secrets } = harness();
    const [a] = await secrets.secretsOf("tenant-a");
    const [b] = await secrets.secretsOf("tenant-b");
    expect(a!.secret).not.toBe(b!.secret);
    const toA = (await deliver("tenant-a", "/a"))!;
    const toB = (await deliver("tenant-b", "/b"))!;
    expect(verifies(a!.secret, toA)).toBe(true);
    expect(verifies(b!.secret, toA)).toBe(false);
    expect(verifies(b!.secret, toB)).toBe(true);
    expect(verifies(a!.secret, toB)).toBe(false);
    expect(toA.headers["webhook-signature"]!.split(" ")).toHaveLength(1);
  });

  it("signs a message enqueued before tenants had secrets (no tenant field) as the default tenant's", async () => {
    const { deliver, secrets } = harness();
    const [fallback] = await secrets.secretsOf("default");
    expect(verifies(fallback!.secret, (await deliver(undefined, "/old-message"))!)).toBe(true);
  });

  it("sends both signatures during a rotation's overlap, and only the new one after it", async () => {
    const { deliver, secrets } = harness();
    const [old] = await secrets.secretsOf("tenant-r");
    const rotated = await secrets.rotate("tenant-r", 3600_000);
    const fresh = rotated[0]!;
    expect(rotated.map((s) => s.secret)).toEqual([fresh.secret, old!.secret]);

    const during = (await deliver("tenant-r", "/r"))!;
    expect(during.headers["webhook-signature"]!.split(" ")).toHaveLength(2);
    expect(verifies(old!.secret, during)).toBe(true);
    expect(verifies(fresh.secret, during)).toBe(true);

    clockMs += 3600_000 + 1;
    const after = (await deliver("tenant-r", "/r"))!;
    expect(after.headers["webhook-signature"]!.split(" ")).toHaveLength(1);
    expect(verifies(old!.secret, after)).toBe(false);
    expect(verifies(fresh.secret, after)).toBe(true);
    expect((await secrets.secretsOf("tenant-r")).map((s) => s.secret)).toEqual([fresh.secret]);
  });

  it("makes one first secret when two first uses race", async () => {
    const { secrets } = harness();
    const both = await Promise.all([secrets.secretsOf("tenant-race"), secrets.secretsOf("tenant-race"), secrets.rotate("tenant-race-2", 1000), secrets.rotate("tenant-race-2", 1000)]);
    expect(both[0]).toEqual(both[1]);
    expect(new Set(both[3].map((s) => s.secret)).size).toBe(both[3].length);
  });
});

describe("410 Gone", () => {
  it("stops later deliveries of the tenant to that URL (logged as gone, not attempted) until it is registered again", async () => {
    const { deliver, endpoints, log, requeued } = harness();
    expect(await deliver("tenant-g", "/gone/1")).not.toBeNull();
    expect(log.at(-1)).toMatchObject({ outcome: "gone", status: 410 });
    expect(requeued).toEqual([]);

    expect(await deliver("tenant-g", "/gone/1")).toBeNull();
    expect(log.at(-1)).toMatchObject({ outcome: "gone", status: null, ms: 0, error: expect.stringMatching(/^not attempted: the endpoint answered 410 Gone at /) });

    // Another tenant's deliveries to the same URL, and this tenant's to other URLs, go on.
    expect(await deliver("tenant-h", "/gone/1")).not.toBeNull();
    expect(await deliver("tenant-g", "/fine")).not.toBeNull();

    await endpoints.revive("tenant-g", `${receiver.url}/gone/1`);
    expect(await deliver("tenant-g", "/gone/1")).not.toBeNull();
  });

  it(`tries a gone endpoint again once ${ENDPOINT_GONE_FOR_MS / 86_400_000} days have passed`, async () => {
    const { deliver } = harness({ isSenderOnTestClock: true });
    expect(await deliver("tenant-t", "/gone/2")).not.toBeNull();
    clockMs += ENDPOINT_GONE_FOR_MS - 1000;
    expect(await deliver("tenant-t", "/gone/2")).toBeNull();
    clockMs += 1000;
    expect(await deliver("tenant-t", "/gone/2")).not.toBeNull();
  });
});
