/**
 * Webhook deliveries (docs/realtime.md, "Webhooks"): the body a delivery carries (bounded at any job size), its
 * stable id, when a failed one is tried again, a tenant's signing secrets and their rotation, and
 * which addresses a delivery may never connect to in the cloud. The wire formats are
 * core/contract/webhooks.ts.
 */
import ipaddr from "ipaddr.js";
import { isIP } from "node:net";
import type { z } from "zod";
import type { FileProgress, Snapshot } from "../contract/snapshot.ts";
import { MAX_SIGNING_SECRETS, WEBHOOK_BODY_MAX_BYTES, type WebhookBody, type WebhookData, type WebhookDelivery, type WebhookSecretResponse, type WebhookType } from "../contract/webhooks.ts";

const bytesOf = (value: unknown) => Buffer.byteLength(JSON.stringify(value));

/** Failed first, then unavailable (null), then by progress ascending; stable otherwise. */
function slowestFirst(files: readonly FileProgress[]): FileProgress[] {
  const rank = (file: FileProgress) => (file.status === "failed" ? -2 : file.progress === null ? -1 : file.progress);
  return files.map((file, index) => ({ file, index, rank: rank(file) })).sort((a, b) => a.rank - b.rank || a.index - b.index).map(({ file }) => file);
}

/** The longest prefix of `items` whose JSON array elements fit in `budget` bytes (commas included). */
function prefixWithin<T>(items: readonly T[], budget: number): { kept: T[]; bytes: number } {
  const kept: T[] = [];
  let bytes = 0;
  for (const item of items) {
    const more = bytesOf(item) + (kept.length > 0 ? 1 : 0);
    if (bytes + more > budget) break;
    kept.push(item);
    bytes += more;
  }
  return { kept, bytes };
}

/**
 * The exact body of one webhook (the bytes that are signed and sent), at most `maxBytes` long
 * however large the job: see `WebhookData` for what is kept. Pure: the time comes in.
 */
export function webhookBody(type: WebhookType, snapshot: Snapshot, options: { statusUrl: string; nowMs: number; maxBytes?: number }): string {
  const maxBytes = options.maxBytes ?? WEBHOOK_BODY_MAX_BYTES;
  const { detail: _detail, ...whole } = snapshot;
  const files = whole.progress_per_original_file;
  const indicators = whole.indicators;
  const body = (data: WebhookData): WebhookBody => ({ type, timestamp: new Date(options.nowMs).toISOString(), data });
  // `false` is the longer boolean, so the frame measured here is never shorter than the one sent.
  const frame = body({ ...whole, progress_per_original_file: [], indicators: [], files_total: files.length, files_truncated: false, indicators_total: indicators.length, indicators_truncated: false, status_url: options.statusUrl });
  const room = maxBytes - bytesOf(frame);
  if (room < 0) throw new Error(`a webhook frame without files or indicators is ${bytesOf(frame)} bytes, over ${maxBytes}`);
  // Indicators first, but never crowding the files out of more than half the room (or of what they need).
  const filesWant = prefixWithin(files, Math.floor(room / 2)).bytes;
  const shownIndicators = prefixWithin(indicators, room - filesWant);
  const shownFiles = prefixWithin(slowestFirst(files), room - shownIndicators.bytes);
  return JSON.stringify(
    body({
      ...whole,
      progress_per_original_file: shownFiles.kept,
      indicators: shownIndicators.kept,
      files_total: files.length,
      files_truncated: shownFiles.kept.length < files.length,
      indicators_total: indicators.length,
      indicators_truncated: shownIndicators.kept.length < indicators.length,
      status_url: options.statusUrl,
    }),
  );
}

/** Where a job's snapshot is read over HTTP (the `status_url` of `POST /v1/jobs`). */
export function statusUrlOf(publicUrl: string, jobId: string): string {
  return `${publicUrl}/v1/jobs/${encodeURIComponent(jobId)}`;
}

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
  statusUrl: string;
}): WebhookDelivery {
  const { job, key, type, url, snapshot, nowMs, statusUrl } = input;
  const body = webhookBody(type, snapshot, { statusUrl, nowMs });
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

// ---------------------------------------------------------------- secrets per tenant

/** One webhook signing secret of a tenant, `whsec_` + base64. */
export interface WebhookSecret {
  secret: string;
  createdAtMs: number;
  /** When it stops signing: null for the current secret, set on the previous ones by a rotation. */
  expiresAtMs: number | null;
}

/** The secrets that still sign at `nowMs`, newest first. */
export function validSecrets(secrets: readonly WebhookSecret[], nowMs: number): WebhookSecret[] {
  return secrets.filter((secret) => secret.expiresAtMs === null || secret.expiresAtMs > nowMs).sort((a, b) => b.createdAtMs - a.createdAtMs);
}

/** `fresh` becomes the current secret; the ones valid now sign for `overlapMs` more at most. */
export function rotateSecrets(secrets: readonly WebhookSecret[], fresh: string, nowMs: number, overlapMs: number): WebhookSecret[] {
  const until = nowMs + overlapMs;
  const previous = validSecrets(secrets, nowMs).map((secret) => ({ ...secret, expiresAtMs: Math.min(secret.expiresAtMs ?? until, until) }));
  return validSecrets([{ secret: fresh, createdAtMs: nowMs, expiresAtMs: null }, ...previous], nowMs).slice(0, MAX_SIGNING_SECRETS);
}

/** A new secret in Standard Webhooks form: `whsec_` + base64 of 24 random bytes. */
export function formatSecret(randomBytes: Uint8Array): string {
  return `whsec_${Buffer.from(randomBytes).toString("base64")}`;
}

export function secretResponse(secrets: readonly WebhookSecret[]): z.infer<typeof WebhookSecretResponse> {
  const iso = (ms: number) => new Date(ms).toISOString();
  return {
    secret: secrets[0]!.secret,
    secrets: secrets.map((s) => ({ secret: s.secret, created_at: iso(s.createdAtMs), expires_at: s.expiresAtMs === null ? null : iso(s.expiresAtMs) })),
  };
}

// ---------------------------------------------------------------- endpoints that are gone

/**
 * How long an endpoint that answered 410 Gone gets no deliveries of its tenant, unless the tenant
 * registers the URL again first (a job created with it as `notify_url`). A week: longer than one
 * delivery's whole retry schedule (2.9 days), so a gone endpoint is not retried by any delivery
 * of that time, and short enough that a URL given up by mistake comes back by itself.
 */
export const ENDPOINT_GONE_FOR_MS = 7 * 24 * 3600 * 1000;

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
