/**
 * Errors on the wire: the one table that says how each code of core/errors.ts goes out — the
 * HTTP status and the `error.code` of an HTTP answer, and the `code` of a WebSocket `error` frame
 * (an SSE `event: error` carries the WebSocket's code too). Every path that answers an error reads
 * it here; a code added to core/errors.ts without a row here does not compile.
 *
 * Two codes read differently on the two wires, as they always have (changing them would break
 * clients that match on them): a job the tenant does not have is `job_not_found` over HTTP and
 * `not_found` on the WebSocket; revoking a key that was revoked already answers 409 `key_revoked`
 * over HTTP, the code a revoked key's token gets (401).
 */
import type { ErrorCode } from "../core/errors.ts";

export type HttpStatus = 400 | 401 | 403 | 404 | 409 | 413 | 429 | 500 | 503;

export interface WireError {
  status: HttpStatus;
  /** `error.code` of an HTTP answer. */
  http: string;
  /** `code` of a WebSocket (or SSE) `error` frame. */
  websocket: string;
}

/** The same code on both wires. */
const same = (code: ErrorCode, status: HttpStatus): WireError => ({ status, http: code, websocket: code });

export const WIRE_ERRORS: { readonly [Code in ErrorCode]: WireError } = {
  oversized: same("oversized", 413),
  invalid_json: same("invalid_json", 400),
  invalid_event: same("invalid_event", 400),
  invalid_input: same("invalid_input", 400),
  wrong_job: same("wrong_job", 400),
  unknown_job: same("unknown_job", 404),
  unknown_step: same("unknown_step", 400),
  conflicting_original: same("conflicting_original", 400),
  too_many_labels: same("too_many_labels", 400),
  too_many_indicator_events: same("too_many_indicator_events", 400),
  item_too_large: same("item_too_large", 413),
  unauthorized: same("unauthorized", 401),
  forbidden: same("forbidden", 403),
  missing_scope: same("missing_scope", 403),
  api_key_in_url: same("api_key_in_url", 401),
  token_expired: same("token_expired", 401),
  key_revoked: same("key_revoked", 401),
  key_already_revoked: { status: 409, http: "key_revoked", websocket: "key_revoked" },
  not_found: same("not_found", 404),
  job_not_found: { status: 404, http: "job_not_found", websocket: "not_found" },
  job_exists: same("job_exists", 409),
  unknown_connection: same("unknown_connection", 400),
  store_conflict: same("store_conflict", 409),
  job_busy: same("job_busy", 503),
  too_many_streams: same("too_many_streams", 429),
  tenant_not_found: same("tenant_not_found", 404),
  tenant_exists: same("tenant_exists", 409),
  key_not_found: same("key_not_found", 404),
  ambiguous_key: same("ambiguous_key", 409),
  invalid_tenant: same("invalid_tenant", 400),
  internal: same("internal", 500),
};

export const wireError = (code: ErrorCode): WireError => WIRE_ERRORS[code];
