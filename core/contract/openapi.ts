/**
 * The OpenAPI 3.1 document of the HTTP API, generated from the contract's zod schemas
 * (`z.toJSONSchema`), never written by hand. A test checks that every route of the app is here.
 */
import { z } from "zod";
import { LIMITS } from "./fields.ts";
import { CreateJobRequest, CreateJobResponse, ErrorBody, IngestResponse, PagedSnapshot, RejectionList, TenantRejectionList, JobList, TokenRequest, TokenResponse, WebhookDeliveryList } from "./http.ts";
import { Envelope, Event, Message } from "./events.ts";
import { Plan } from "./plan.ts";
import { Snapshot } from "./snapshot.ts";
import { AuditList, CreatedKey, CreateKeyRequest, CreateTenantRequest, KeyList, KeyView, TenantList, TenantView } from "./admin.ts";
import { MAX_SIGNING_SECRETS, RotateWebhookSecretRequest, WEBHOOK_BODY_MAX_BYTES, WebhookBody, WebhookSecretResponse, WebhookType } from "./webhooks.ts";

type Schema = z.ZodType;
type Io = "input" | "output";

/**
 * Each event type of the `Event` union under the name of its `type` (`step.progress` is
 * `StepProgress`), so that a new event type is in the document as soon as it is in the union.
 */
function eventComponents(): Record<string, Schema> {
  const pascalCase = (type: string) => type.split(".").map((word) => word.charAt(0).toUpperCase() + word.slice(1)).join("");
  return Object.fromEntries(Event.options.map((option) => [pascalCase(option.shape.type.value), option]));
}

/**
 * Named components: every schema a route takes or gives, and each event type, appears once under
 * `components.schemas` and is referenced by name (a schema inside another named one too), so the
 * document reads like the contract instead of repeating it inline.
 */
const COMPONENTS: Record<Io, Record<string, Schema>> = {
  input: {
    CreateJobRequest,
    Plan,
    Message,
    Envelope,
    Event,
    ...eventComponents(),
    TokenRequest,
    RotateWebhookSecretRequest,
  },
  output: {
    Snapshot,
    PagedSnapshot,
    CreateJobResponse,
    ErrorBody,
    IngestResponse,
    JobList,
    RejectionList,
    TenantRejectionList,
    TokenResponse,
    WebhookDeliveryList,
    WebhookBody,
    WebhookSecretResponse,
  },
};

const EXAMPLES: Record<string, unknown[]> = {
  CreateJobRequest: [
    {
      job_id: "upload-42",
      plan: { steps: { thumbs: { robot: "/video/thumbs", use: ":original", accepts: ["video/*"], results_per_input: 8, output_mime: "image/jpeg" }, stored: { robot: "/s3/store", use: ["thumbs", ":original"] } } },
      expect_originals: 2,
      emit_execution_progress: true,
      notify_url: "https://example.com/hooks/headway",
    },
  ],
  Message: [
    {
      v: 1,
      events: [
        { v: 1, type: "original.added", job_id: "upload-42", event_id: "e2", at: "2026-11-22T10:00:01Z", original_id: "f1", mime: "video/mp4" },
        { v: 1, type: "step.progress", job_id: "upload-42", event_id: "e3", at: "2026-11-22T10:00:04Z", step: "thumbs", original_id: "f1", attempt: 1, progress: [40, 100], unit: "Bytes" },
      ],
    },
  ],
  IndicatorReported: [{ v: 1, type: "indicator.reported", job_id: "batch-7", event_id: "t1-3", at: "2026-11-22T10:00:09Z", label: "tiles", task_id: "t1", attempt: 1, added: 10, done: 4 }],
  JobCompleted: [{ v: 1, type: "job.completed", job_id: "upload-42", event_id: "e9", at: "2026-11-22T10:01:00Z" }],
  Snapshot: [
    {
      v: 1,
      job_id: "upload-42",
      status: "executing",
      version: 42,
      progress_combined: 75,
      progress_per_original_file: [{ original_id: "f1", progress: 50 }, { original_id: "f2", progress: 100 }],
      indicators: [{ label: null, done: 3, total: 10 }],
      eta_seconds: 12,
      updated_at: "2026-11-22T10:00:00.000Z",
    },
  ],
};

const refOf = new Map<Schema, string>();
for (const io of ["input", "output"] as const) for (const [name, type] of Object.entries(COMPONENTS[io])) refOf.set(type, `#/components/schemas/${name}`);

function componentSchemas(): Record<string, unknown> {
  const schemas: Record<string, unknown> = {};
  for (const io of ["input", "output"] as const) {
    const registry = z.registry<{ id: string }>();
    for (const [name, type] of Object.entries(COMPONENTS[io])) registry.add(type, { id: name });
    const generated = z.toJSONSchema(registry, { target: "draft-2020-12", io, unrepresentable: "any", uri: (id) => `#/components/schemas/${id}` }).schemas;
    for (const [name, generatedSchema] of Object.entries(generated)) {
      const { $id: _id, $schema: _schema, ...rest } = generatedSchema as Record<string, unknown>;
      schemas[name] = EXAMPLES[name] === undefined ? rest : { ...rest, examples: EXAMPLES[name] };
    }
  }
  return schemas;
}

const schema = (type: Schema, io: Io) => {
  const ref = refOf.get(type);
  return ref !== undefined ? { $ref: ref } : z.toJSONSchema(type, { target: "draft-2020-12", io, unrepresentable: "any" });
};

function json(type: Schema, io: Io, description: string) {
  return { description, content: { "application/json": { schema: schema(type, io) } } };
}

const errors = {
  "400": json(ErrorBody, "output", "Invalid input: `error.fields` names each offending field"),
  "401": json(ErrorBody, "output", "Missing, unknown or revoked API key"),
  "403": json(ErrorBody, "output", "`missing_scope`: the API key lacks the scope this route needs"),
  "404": json(ErrorBody, "output", "No such job for this tenant"),
};

/**
 * A tenant route and the scope its API key needs (OpenAPI 3.1 lets a non-OAuth scheme list the
 * roles a route requires: here the key's scopes).
 */
const needs = (scope: "ingest" | "read" | "admin") => ({ security: [{ apiKey: [scope] }], "x-scope": scope });

const jobId = { name: "id", in: "path", required: true, schema: { type: "string", pattern: "^[A-Za-z0-9._:-]{1,128}$" } };

/** The admin API: its own credential, never an API key. */
const admin = {
  security: [{ adminToken: [] }],
  tags: ["admin"],
};
const adminErrors = {
  "401": json(ErrorBody, "output", "Missing or wrong admin token (or no admin token configured)"),
  "404": json(ErrorBody, "output", "`tenant_not_found` (or `key_not_found`)"),
};
const tenantParam = { name: "tenant", in: "path", required: true, schema: { type: "string", pattern: "^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$" } };

function adminPaths() {
  return {
    "/v1/admin/tenants": {
      post: {
        ...admin,
        summary: "Register a tenant",
        requestBody: { required: true, ...json(CreateTenantRequest, "input", "The tenant's name") },
        responses: { "201": json(TenantView, "output", "Created"), "400": errors["400"], "409": json(ErrorBody, "output", "`tenant_exists`"), "401": adminErrors["401"] },
      },
      get: { ...admin, summary: "Every tenant, by name", responses: { "200": json(TenantList, "output", "Tenants"), "401": adminErrors["401"] } },
    },
    "/v1/admin/tenants/{tenant}/keys": {
      post: {
        ...admin,
        summary: "Make an API key for the tenant: the answer's `key` is the only time it is shown (it is stored hashed)",
        description: "`scopes`: one or more of `ingest`, `read`, `admin`; without it the key gets `ingest` and `read` (`admin` must be asked for).",
        parameters: [tenantParam],
        requestBody: { required: false, ...json(CreateKeyRequest, "input", "The key's name (what it is for) and scopes") },
        responses: { "201": json(CreatedKey, "output", "The key, once"), "400": errors["400"], ...adminErrors },
      },
      get: {
        ...admin,
        summary: "The tenant's keys, revoked ones included (prefix, name, times; never the key)",
        parameters: [tenantParam],
        responses: { "200": json(KeyList, "output", "Keys, oldest first"), ...adminErrors },
      },
    },
    "/v1/admin/tenants/{tenant}/keys/{key}": {
      delete: {
        ...admin,
        summary: "Revoke a key, named by its id (`key_…`) or its prefix",
        description: "Every lookup that starts after the answer refuses the key; an API container that accepted it in the last 30 s may accept it until its 30 s cache lapses.",
        parameters: [tenantParam, { name: "key", in: "path", required: true, schema: { type: "string" } }],
        responses: {
          "200": json(KeyView, "output", "The revoked key"),
          "409": json(ErrorBody, "output", "`key_revoked` (already) or `ambiguous_key` (a prefix shared by several keys)"),
          ...adminErrors,
        },
      },
    },
    "/v1/admin/tenants/{tenant}/webhook-secret/rotate": {
      post: {
        ...admin,
        summary: "Rotate the tenant's webhook secret, as POST /v1/webhook-secret/rotate does for a tenant's own key",
        parameters: [tenantParam],
        requestBody: { required: false, ...json(RotateWebhookSecretRequest, "input", "The overlap") },
        responses: { "200": json(WebhookSecretResponse, "output", "Secrets after the rotation, newest first"), "400": errors["400"], ...adminErrors },
      },
    },
    "/v1/admin/audit": {
      get: {
        ...admin,
        summary: "The admin audit log, newest first: who did what to which tenant (from the API and the CLI)",
        parameters: [{ name: "limit", in: "query", required: false, schema: { type: "integer", minimum: 1, maximum: 1000, default: 100 } }],
        responses: { "200": json(AuditList, "output", "Entries"), "400": errors["400"], "401": adminErrors["401"] },
      },
    },
  };
}

/** The job routes (functions/api/jobs.ts): the jobs, their snapshots, ingest and rejections. */
function jobPaths() {
  return {
    "/v1/jobs": {
      get: {
        ...needs("read"),
        summary: "The tenant's jobs, newest first, a page at a time (status and figures from each job's head; no per-file list)",
        parameters: [
          { name: "limit", in: "query", required: false, schema: { type: "integer", minimum: 1, maximum: 100, default: 20 } },
          { name: "cursor", in: "query", required: false, description: "`next_cursor` of the previous page", schema: { type: "string" } },
        ],
        responses: { "200": json(JobList, "output", "A page of jobs"), ...errors },
      },
      post: {
        ...needs("ingest"),
        summary: "Create a job",
        description: "`subscriber_token` is minted only for a key that also holds the `read` scope (null otherwise).",
        requestBody: { required: true, ...json(CreateJobRequest, "input", "The job's declaration") },
        responses: { "201": json(CreateJobResponse, "output", "Created"), "409": json(ErrorBody, "output", "The job id is taken"), ...errors },
      },
    },
    "/v1/jobs/{id}": {
      get: {
        ...needs("read"),
        summary: "The job's current snapshot",
        parameters: [
          jobId,
          { name: "detail", in: "query", required: false, schema: { type: "string", enum: ["true", "false"] } },
          { name: "files_page", in: "query", required: false, description: "0-based page of the per-file list (in original_id order); without it the list is whole", schema: { type: "integer", minimum: 0 } },
          { name: "files_per_page", in: "query", required: false, description: "Files per page (default 1000)", schema: { type: "integer", minimum: 1, maximum: 10_000 } },
          { name: "in_flight_page", in: "query", required: false, description: "With detail=true: the 0-based page of `detail.in_flight`, the executions running, the most recently reported first (`detail.in_flight_total` counts them all)", schema: { type: "integer", minimum: 0, default: 0 } },
          { name: "in_flight_per_page", in: "query", required: false, description: "In-flight executions per page (default 100)", schema: { type: "integer", minimum: 1, maximum: 1_000, default: 100 } },
        ],
        responses: {
          "200": json(PagedSnapshot, "output", "Snapshot (`files_page` when paged)"),
          "503": json(ErrorBody, "output", "`job_busy`: a write of the job is in progress (a snapshot never mixes two versions); retry after `Retry-After` seconds"),
          ...errors,
        },
      },
    },
    "/v1/jobs/{id}/events": {
      post: {
        ...needs("ingest"),
        summary: "Ingest events (validated, then enqueued)",
        description:
          "Counted work: `indicator.reported` carries a task attempt's running totals (`added`, `done`; the largest of each wins, " +
          "so it needs no memory of event ids). `indicator.added`/`indicator.done` carry deltas; each task attempt's first " +
          `${LIMITS.eventIdsPerTaskAttempt} event ids are remembered, and a further delta of that attempt is rejected as ` +
          "`too_many_indicator_events` (see /rejections): send `indicator.reported` instead. " +
          `A job has at most ${LIMITS.labelsPerJob} indicator labels (\`too_many_labels\`).`,
        parameters: [jobId],
        requestBody: { required: true, ...json(Message, "input", "One event, or {v: 1, events: [...]} with up to 500 events of this job") },
        responses: { "202": json(IngestResponse, "output", "Enqueued"), "413": json(ErrorBody, "output", "Body over 1 MiB"), ...errors },
      },
    },
    "/v1/jobs/{id}/rejections": {
      get: {
        ...needs("read"),
        summary: "Inputs of this job that were rejected, newest first",
        description:
          "Codes: `invalid_json`, `invalid_event`, `oversized`, `wrong_job`, `unknown_job`, `too_many_labels`, " +
          "`too_many_indicator_events` (an indicator.added/done past the per-attempt limit of remembered event ids: use indicator.reported).",
        parameters: [jobId],
        responses: { "200": json(RejectionList, "output", "Rejections"), ...errors },
      },
    },
    "/v1/rejections": {
      get: {
        ...needs("read"),
        summary: "The tenant's inputs that no job took, newest first",
        description: "Events for jobs that never appeared (`unknown_job`, after the wait for their declaration) and messages that named no readable job; each entry has its `job_id` (or null).",
        responses: { "200": json(TenantRejectionList, "output", "Rejections"), ...errors },
      },
    },
  };
}

/** The update stream (functions/api/streams.ts): a subscriber token or an API key. */
function streamPaths() {
  return {
    "/v1/jobs/{id}/stream": {
      get: {
        summary: "The job's update stream (text/event-stream): `assembly_execution_progress` events, then `job_finished` and `data: assembly_finished`",
        description:
          "Authenticates with a subscriber token for the job (`Authorization: Bearer`, or `?token=` where headers cannot be set, as in browsers' EventSource) " +
          "or an API key with the `read` scope in the `Authorization` header; an API key in the URL is refused (`api_key_in_url`). A token whose API key is revoked " +
          "is refused (`key_revoked`); a stream whose token expires or whose key is revoked ends within a minute with `event: error` (`token_expired`, `key_revoked`).",
        parameters: [
          jobId,
          { name: "token", in: "query", required: false, description: "A subscriber token (never an API key)", schema: { type: "string" } },
          { name: "detail", in: "query", required: false, description: "true: every event carries `detail` (the 100 executions most recently reported, `in_flight_total`), and one goes out whenever the job changed, even while `progress_combined` is null or the job did not ask for `emit_execution_progress`", schema: { type: "string", enum: ["true", "false"] } },
        ],
        security: [{ apiKey: ["read"] }, { subscriberToken: [] }],
        responses: {
          "200": { description: "Server-sent events; each `data` is a snapshot", content: { "text/event-stream": { schema: { type: "string" }, itemSchema: schema(Snapshot, "output") } } },
          "429": json(ErrorBody, "output", "`too_many_streams`: the credential or the tenant has as many update streams open as allowed"),
          ...errors,
        },
      },
    },
  };
}

/** The webhook routes (functions/api/webhooks.ts): a job's delivery log and the tenant's signing secrets. */
function webhookPaths() {
  return {
    "/v1/jobs/{id}/webhooks": {
      get: {
        ...needs("read"),
        summary: "The job's webhook delivery log, newest attempt first",
        parameters: [jobId],
        responses: { "200": json(WebhookDeliveryList, "output", "Deliveries"), ...errors },
      },
    },
    "/v1/webhook-secret": {
      get: {
        ...needs("admin"),
        summary: "The tenant's webhook signing secrets (the first is made on first use, and audited)",
        description: "Verify deliveries with `secret` (npm `standardwebhooks`: `new Webhook(secret).verify(body, headers)`); during a rotation's overlap every secret in `secrets` signs each delivery.",
        responses: { "200": json(WebhookSecretResponse, "output", "Secrets, newest first"), "401": errors["401"], "403": errors["403"] },
      },
    },
    "/v1/webhook-secret/rotate": {
      post: {
        ...needs("admin"),
        summary: "Make a new webhook secret; the ones valid now keep signing for `overlap_seconds` (default 24 h); audited",
        description: `Deliveries carry one signature per valid secret, space-separated, so receivers can switch secrets at any time within the overlap. At most ${MAX_SIGNING_SECRETS} secrets sign at once. An empty body takes the defaults.`,
        requestBody: { required: false, ...json(RotateWebhookSecretRequest, "input", "The overlap") },
        responses: { "200": json(WebhookSecretResponse, "output", "Secrets after the rotation, newest first"), "400": errors["400"], "401": errors["401"], "403": errors["403"] },
      },
    },
  };
}

/** The tenant's own keys (functions/api/keys.ts). */
function keyPaths() {
  return {
    "/v1/keys": {
      get: {
        ...needs("admin"),
        summary: "The tenant's own API keys, revoked ones included (prefix, name, scopes, times; never the key)",
        responses: { "200": json(KeyList, "output", "Keys, oldest first"), "401": errors["401"], "403": errors["403"] },
      },
      post: {
        ...needs("admin"),
        summary: "Make an API key of this tenant (`scopes` default to ingest and read); the answer's `key` is the only time it is shown; audited",
        requestBody: { required: false, ...json(CreateKeyRequest, "input", "The key's name and scopes") },
        responses: { "201": json(CreatedKey, "output", "The key, once"), "400": errors["400"], "401": errors["401"], "403": errors["403"] },
      },
    },
    "/v1/keys/{key}": {
      delete: {
        ...needs("admin"),
        summary: "Revoke one of this tenant's keys, by its id (`key_…`) or its prefix; its subscriber tokens stop working too; audited",
        parameters: [{ name: "key", in: "path", required: true, schema: { type: "string" } }],
        responses: {
          "200": json(KeyView, "output", "The revoked key"),
          "404": json(ErrorBody, "output", "`key_not_found`"),
          "409": json(ErrorBody, "output", "`key_revoked` (already) or `ambiguous_key`"),
          "401": errors["401"],
          "403": errors["403"],
        },
      },
    },
  };
}

/** Subscriber tokens (functions/api/tokens.ts). */
function tokenPaths() {
  return {
    "/v1/tokens": {
      post: {
        ...needs("read"),
        summary: "Mint a subscriber token scoped to job ids (it names the API key that minted it: revoking the key revokes it)",
        requestBody: { required: true, ...json(TokenRequest, "input", "Scope and lifetime") },
        responses: { "201": json(TokenResponse, "output", "Token"), ...errors },
      },
    },
  };
}

/** The webhooks Headway sends, one per `WebhookType`. */
function outgoingWebhooks() {
  return Object.fromEntries(
    WebhookType.options.map((type) => [
      type,
      {
        post: {
          summary: type === "job.finished" ? "The job finished (completed, failed or cancelled)" : "The job's displayed progress reached a milestone it asked for",
          description:
            "Signed by the Standard Webhooks spec (`webhook-id`, `webhook-timestamp`, `webhook-signature`) with the tenant's secret " +
            "(GET /v1/webhook-secret); during a rotation the signature header holds one signature per valid secret, space-separated. " +
            `The body is at most ${WEBHOOK_BODY_MAX_BYTES} bytes: \`data.progress_per_original_file\` is a page of the files (failed first, then ` +
            "without an estimate, then least advanced); `files_truncated` tells whether `status_url` has more.",
          security: [],
          requestBody: { required: true, ...json(WebhookBody, "output", "The event and the job's snapshot") },
          responses: { "2XX": { description: "Received" }, "410": { description: "Gone: Headway stops delivering to this URL (docs/realtime.md: Webhooks)" } },
        },
      },
    ]),
  );
}

const securitySchemes = {
  apiKey: { type: "http", scheme: "bearer", description: "An API key: Authorization: Bearer <key> (never in a URL); each route names the scope it needs (ingest, read or admin)" },
  subscriberToken: { type: "http", scheme: "bearer", description: "A subscriber token (POST /v1/tokens, or POST /v1/jobs's subscriber_token): Authorization: Bearer <token>, or ?token=<token> on the update stream" },
  adminToken: { type: "http", scheme: "bearer", description: "The admin token (the AdminToken secret; the sandbox prints it): Authorization: Bearer <admin token>" },
};

export function openApiDocument() {
  return {
    openapi: "3.1.0",
    info: { title: "Headway", version: "1", description: "Progress service for multi-step jobs (see docs/http-api.md)." },
    components: { schemas: componentSchemas(), securitySchemes },
    security: [{ apiKey: [] }],
    paths: {
      ...jobPaths(),
      ...streamPaths(),
      ...webhookPaths(),
      ...keyPaths(),
      ...tokenPaths(),
      ...adminPaths(),
      "/v1/openapi.json": {
        get: { summary: "This document", security: [], responses: { "200": { description: "OpenAPI 3.1" } } },
      },
    },
    webhooks: outgoingWebhooks(),
  };
}
