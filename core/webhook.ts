/**
 * Webhook deliveries (DESIGN §3.7): what a delivery carries, when a failed one is tried again,
 * and which addresses a delivery may never connect to in the cloud.
 */
import ipaddr from "ipaddr.js";
import { isIP } from "node:net";
import { z } from "zod";
import { Id, Snapshot } from "./contract.ts";

/** One delivery, as it travels on the webhook queue: the same id and body on every attempt. */
export const WebhookDelivery = z.object({
  v: z.literal(1),
  webhook_id: z.string().min(1).max(200),
  job_id: Id,
  url: z.url({ protocol: /^https?$/ }),
  /** The exact body that is signed and sent, so that every attempt is byte-identical. */
  body: z.string(),
  attempt: z.int().min(1),
  /** Not to be tried before this time (ms); SQS delays at most 15 minutes, longer waits hop. */
  not_before_ms: z.number(),
});
export type WebhookDelivery = z.infer<typeof WebhookDelivery>;

export const WebhookBody = z.object({ type: z.enum(["job.finished", "job.progress"]), timestamp: z.iso.datetime(), data: Snapshot });

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

const IPV4_COMPATIBLE = ipaddr.parseCIDR("::/96") as [ipaddr.IPv6, number];

/**
 * Whether a delivery may connect to an address: only public unicast. The classification is
 * ipaddr.js's `range()` (its special-purpose tables follow the IANA registries and RFCs 6890,
 * 6052, 8215, 9637…; maintained, no dependencies, and already in our tree through fastify), not a
 * hand-kept list: a hand-kept list is how `::7f00:1`, 6to4 and Teredo slipped through before.
 * request-filtering-agent (which classifies with ipaddr.js too) was the alternative; it would
 * replace our guarded `lookup` with an http.Agent, while a pure classifier keeps the rule in the
 * core and the check inside the socket's own DNS lookup (functions/adapters/webhook-http.ts).
 *
 * Blocked: every range ipaddr.js does not call `unicast` (private, loopback, link-local, CGNAT,
 * multicast, broadcast, documentation 192.0.2/24 · 198.51.100/24 · 203.0.113/24, benchmarking,
 * reserved, `fec0::/10`, unique-local, NAT64 `64:ff9b::/96` and `64:ff9b:1::/48`, 6to4
 * `2002::/16`, Teredo `2001::/32`, …), plus the deprecated IPv4-compatible `::/96` (`::7f00:1`),
 * which ipaddr.js leaves as unicast. IPv6 forms that tunnel to an IPv4 address (6to4, Teredo,
 * NAT64) are blocked whole rather than decoded: no webhook receiver needs them. An IPv4-mapped
 * address (`::ffff:a.b.c.d`) is judged as the IPv4 address it maps to.
 */
export function isBlockedAddress(address: string): boolean {
  // node:net's parser first: only canonical literals, never `127.1` or `0x7f.1`, which ipaddr.js would accept.
  const family = isIP(address);
  if (family === 0) return true;
  if (family === 4) return ipaddr.IPv4.parse(address).range() !== "unicast";
  // ipaddr.js reads the dotted form `::a.b.c.d` (which glibc's inet_ntop prints for IPv4-compatible
  // addresses) as IPv4-mapped; the WHATWG URL serializer gives the canonical hex form first.
  const canonical = URL.parse(`http://[${address.replace(/%.*$/, "")}]/`)?.hostname.slice(1, -1);
  if (canonical === undefined || !ipaddr.IPv6.isValid(canonical)) return true;
  const v6 = ipaddr.IPv6.parse(canonical);
  if (v6.isIPv4MappedAddress()) return v6.toIPv4Address().range() !== "unicast";
  if (v6.match(IPV4_COMPATIBLE)) return true;
  return v6.range() !== "unicast";
}
