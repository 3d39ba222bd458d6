/**
 * The HTTP API's bodies (docs/http-api.md): requests, answers, query strings and the error body.
 * Events and snapshots are contract/events.ts and contract/snapshot.ts.
 */
import { z } from "zod";
import { REJECTION_CODES } from "../errors.ts";
import { declaration } from "./events.ts";
import { Id, strict } from "./fields.ts";
import { Snapshot } from "./snapshot.ts";

export const CreateJobRequest = strict({
  job_id: Id.optional(),
  ...declaration,
});
export type CreateJobRequest = z.infer<typeof CreateJobRequest>;

export const CreateJobResponse = z.object({
  job_id: Id,
  status_url: z.string(),
  websocket_url: z.string().nullable(),
  subscriber_token: z.string().nullable(),
});

/**
 * Paging of `GET /v1/jobs/{id}`'s per-file list (files in `original_id` order): `files_page` is
 * 0-based; without it the list is whole. The answer then carries `files_page: {index, count,
 * total_files}`, the shape of the WebSocket's paged frames.
 */
export const FilesPageQuery = z.object({
  files_page: z.coerce.number().int().min(0).max(1_000_000).optional(),
  files_per_page: z.coerce.number().int().min(1).max(10_000).default(1_000),
  /** With `detail=true`: the page of the in-flight executions (the most recently reported first). */
  in_flight_page: z.coerce.number().int().min(0).max(1_000_000).default(0),
  in_flight_per_page: z.coerce.number().int().min(1).max(1_000).default(100),
});
export const FilesPage = z.object({ index: z.int().min(0), count: z.int().min(0), total_files: z.int().min(0) });
export const PagedSnapshot = Snapshot.extend({ files_page: FilesPage.optional() });

/** `GET /v1/jobs`: the tenant's jobs, newest first, a page at a time. */
export const JobListQuery = z.object({
  limit: z.coerce.number().int().min(1).max(100).default(20),
  cursor: z.string().min(1).max(400).optional(),
});
export const JobListEntry = z.object({
  job_id: Id,
  status: Snapshot.shape.status,
  version: z.int().min(0),
  progress_combined: z.int().min(0).max(100).nullable(),
  eta_seconds: z.number().nullable(),
  created_at: z.iso.datetime(),
  updated_at: z.iso.datetime().nullable(),
});
export const JobList = z.object({
  jobs: z.array(JobListEntry),
  /** Pass as `cursor` for the next (older) page; null at the end. */
  next_cursor: z.string().nullable(),
});

export const IngestResponse = z.object({ accepted: z.int().min(0), messages: z.int().min(0) });

export const Rejection = z.object({
  code: z.enum(REJECTION_CODES),
  reason: z.string(),
  source: z.string(),
  excerpt: z.string(),
  at: z.iso.datetime(),
});
export const RejectionList = z.object({ job_id: Id, rejections: z.array(Rejection) });
export const TenantRejectionList = z.object({ rejections: z.array(Rejection.extend({ job_id: Id.nullable() })) });

export const TokenRequest = z.object({
  job_ids: z.array(Id).min(1).max(100),
  expires_in_seconds: z.int().min(1).max(7 * 24 * 3600).default(3600),
});
/** `websocket_url` says where to use the token (null: no WebSocket API; use the SSE stream), so a watcher needs only the HTTP URL. */
export const TokenResponse = z.object({ token: z.string(), expires_at: z.iso.datetime(), websocket_url: z.string().nullable() });
export type TokenResponse = z.infer<typeof TokenResponse>;

export const ErrorBody = z.object({
  error: z.object({
    code: z.string(),
    message: z.string(),
    fields: z.array(z.object({ field: z.string(), message: z.string() })).optional(),
    request_id: z.string().optional(),
  }),
});

export const WebhookDeliveryList = z.object({
  job_id: Id,
  deliveries: z.array(
    z.object({
      webhook_id: z.string(),
      attempt: z.int(),
      url: z.string(),
      outcome: z.enum(["delivered", "failed", "gone", "gave_up"]),
      status: z.int().nullable(),
      error: z.string().nullable(),
      duration_ms: z.number(),
      at: z.iso.datetime(),
      next_attempt_at: z.iso.datetime().nullable(),
    }),
  ),
});
