/**
 * Webhooks on the wire (docs/realtime.md, "Webhooks"): a delivery as it travels on the webhook queue, the body a
 * receiver gets, and the webhook-secret API's request and answer. How bodies are fitted, signed
 * and retried is core/delivery/webhooks.ts.
 */
import { z } from "zod";
import { Id } from "./fields.ts";
import { Snapshot } from "./snapshot.ts";

/** One delivery, as it travels on the webhook queue: the same id and body on every attempt. */
export const WebhookDelivery = z.object({
  v: z.literal(1),
  webhook_id: z.string().min(1).max(600),
  /** Whose secrets sign it; a message without one is the `default` tenant's. */
  tenant: z.string().min(1).max(200).default("default"),
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

export const WebhookType = z.enum(["job.finished", "job.progress"]);
export type WebhookType = z.infer<typeof WebhookType>;

/**
 * A webhook's `data`: the snapshot without `detail`, its per-file list cut to a bounded page, and
 * where to read the rest. `progress_per_original_file` holds the files a receiver most likely acts
 * on first: failed ones, then those without an estimate, then the least advanced (ties in the
 * snapshot's order, by `original_id`); the page is always a prefix of that order. The indicators
 * are whole unless they alone would not fit (a thousand long labels), then a prefix of them.
 */
export const WebhookData = Snapshot.omit({ detail: true }).extend({
  files_total: z.int().min(0),
  files_truncated: z.boolean(),
  indicators_total: z.int().min(0),
  indicators_truncated: z.boolean(),
  /** GET it with the tenant's API key for the whole snapshot (`?files_page=&files_per_page=` to page through the files). */
  status_url: z.string(),
});
export type WebhookData = z.infer<typeof WebhookData>;

export const WebhookBody = z.object({ type: WebhookType, timestamp: z.iso.datetime(), data: WebhookData });
export type WebhookBody = z.infer<typeof WebhookBody>;

/**
 * Bytes of a webhook body at most, at any job size: under the 100 kB that common receivers accept
 * by default (Express's body-parser), and, escaped inside the queue message that carries it
 * (at most twice as long), well under SQS's 256 KB message limit and the 128 KB docs/realtime.md
 * allows any message.
 */
export const WEBHOOK_BODY_MAX_BYTES = 64 * 1024;

/** How long the previous secret keeps signing after a rotation, unless the rotation says otherwise. */
export const DEFAULT_ROTATION_OVERLAP_MS = 24 * 3600 * 1000;
export const MAX_ROTATION_OVERLAP_MS = 7 * 24 * 3600 * 1000;
/**
 * Secrets that sign at once, at most: each adds a signature to every delivery. A rotation past it
 * ends the overlap of the oldest early (five rotations within one overlap).
 */
export const MAX_SIGNING_SECRETS = 5;

export const RotateWebhookSecretRequest = z.object({
  /** How long the secrets valid now keep signing beside the new one. */
  overlap_seconds: z.int().min(0).max(MAX_ROTATION_OVERLAP_MS / 1000).default(DEFAULT_ROTATION_OVERLAP_MS / 1000),
});

export const WebhookSecretResponse = z.object({
  /** The current secret: verify with it (and, during an overlap, with any of `secrets`). */
  secret: z.string(),
  /** Every secret that signs now, newest first; each delivery carries one signature per secret. */
  secrets: z.array(z.object({ secret: z.string(), created_at: z.iso.datetime(), expires_at: z.iso.datetime().nullable() })),
});
