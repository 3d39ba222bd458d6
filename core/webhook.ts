/**
 * Webhook deliveries (DESIGN §3.7): what a delivery carries, when a failed one is tried again,
 * and which addresses a delivery may never connect to in the cloud.
 */
import { BlockList, isIP } from "node:net";
import { z } from "zod";
import { Id, Snapshot } from "./contract.ts";

/** One delivery, as it travels on the webhook queue: the same id and body on every attempt. */
export const WebhookDelivery = z.object({
  v: z.literal(1),
  webhook_id: z.string().min(1).max(200),
  tenant: Id,
  job_id: Id,
  /** The job's incarnation (its delivery log lives under it). */
  incarnation: z.string().min(1).max(64),
  url: z.url({ protocol: /^https?$/ }),
  /** The exact body that is signed and sent, so that every attempt is byte-identical. */
  body: z.string(),
  attempt: z.int().min(1),
  /** Not to be tried before this time (ms); SQS delays at most 15 minutes, longer waits hop. */
  not_before_ms: z.number(),
});
export type WebhookDelivery = z.infer<typeof WebhookDelivery>;

export const WebhookBody = z.object({ type: z.enum(["job.finished", "job.progress"]), timestamp: z.iso.datetime(), data: Snapshot });
export type WebhookType = z.infer<typeof WebhookBody>["type"];

/**
 * The delivery of one webhook of a job: its id is the same whoever enqueues it and however often
 * (`msg_<tenant>_<job>_<incarnation>_<key>`), so a receiver that sees it twice can drop the repeat.
 */
export function webhookDeliveryFor(input: {
  job: { tenant: string; jobId: string; incarnation: string };
  key: string;
  type: WebhookType;
  url: string;
  snapshot: Snapshot;
  nowMs: number;
  statusUrl: string | null;
}): WebhookDelivery {
  const { job, key, type, url, snapshot, nowMs } = input;
  const body = JSON.stringify({ type, timestamp: new Date(nowMs).toISOString(), data: snapshot });
  return { v: 1, webhook_id: `msg_${job.tenant}_${job.jobId}_${job.incarnation}_${key}`, tenant: job.tenant, job_id: job.jobId, incarnation: job.incarnation, url, body, attempt: 1, not_before_ms: 0 };
}

/**
 * Seconds to wait before each retry, after attempt 1, 2, …: the Standard Webhooks / Svix
 * schedule stretched to about 3 days as Stripe's (5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h,
 * 14 h, 24 h: 2.9 days in all). No number after the last: the delivery has failed for good.
 */
export const RETRY_SCHEDULE_SECONDS = [5, 300, 1800, 7200, 18_000, 36_000, 36_000, 50_400, 86_400] as const;

export function retryDelaySeconds(attempt: number): number | null {
  return RETRY_SCHEDULE_SECONDS[attempt - 1] ?? null;
}

export const WEBHOOK_TIMEOUT_MS = 15_000;

const BLOCKED = new BlockList();
for (const [network, prefix] of [
  ["0.0.0.0", 8],
  ["10.0.0.0", 8],
  ["100.64.0.0", 10],
  ["127.0.0.0", 8],
  ["169.254.0.0", 16],
  ["172.16.0.0", 12],
  ["192.0.0.0", 24],
  ["192.168.0.0", 16],
  ["198.18.0.0", 15],
  ["224.0.0.0", 4],
  ["240.0.0.0", 4],
] as const) BLOCKED.addSubnet(network, prefix, "ipv4");
for (const [network, prefix] of [
  ["::", 128],
  ["::1", 128],
  ["fc00::", 7],
  ["fe80::", 10],
  ["ff00::", 8],
  ["64:ff9b::", 96],
] as const) BLOCKED.addSubnet(network, prefix, "ipv6");

/** True for loopback, private, link-local, multicast and other non-public addresses (IPv4-mapped IPv6 included). */
export function isBlockedAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 0) return true;
  if (family === 6) {
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
    if (mapped !== null) return BLOCKED.check(mapped[1]!, "ipv4");
    return BLOCKED.check(address, "ipv6");
  }
  return BLOCKED.check(address, "ipv4");
}
