/**
 * The HTTP API (DESIGN §3.6) as one hono app: on Lambda behind a Function URL with response
 * streaming (`streamHandle`), in the sandbox on @hono/node-server; every error is JSON naming the
 * offending fields. Jobs are the tenant's own: an id another tenant uses is, to this tenant,
 * simply free (and reading it a 404).
 *
 * Three groups of routes authenticate differently, each a sub-app with its own auth, so that no
 * route's security depends on the order routes were registered in:
 * - the tenant routes take an API key in `Authorization: Bearer` and nothing else, each route
 *   asking for the scope it needs (`ingest`, `read`, `admin`: DESIGN §4);
 * - the update stream (`/v1/jobs/{id}/stream`) takes a subscriber token (in the header, or in
 *   `?token=` for browsers' EventSource) or an API key with `read` in the header, never in a URL;
 * - the admin API (functions/admin-api.ts) takes the admin token alone.
 */
import { Hono, type Context } from "hono";
import { bodyLimit } from "hono/body-limit";
import { createMiddleware } from "hono/factory";
import { requestId } from "hono/request-id";
import { handle, streamHandle } from "hono/aws-lambda";
import { createHash, randomUUID } from "node:crypto";
import { CreateJobRequest, FilesPageQuery, JobListQuery, TokenRequest, type Event, type Snapshot } from "../core/contract.ts";
import type { ApiKeyStore, EventPublisher, JobIndex, JobMeta, JobRef, JobStore, KeyPrincipal, RejectionLog, RejectionRecord, StreamSlots, WebhookEndpoints, WebhookLog, WebhookSecrets } from "../core/ports.ts";
import { CreateKeyRequest, DEFAULT_SCOPES, keyView, type Scope } from "../core/tenants.ts";
import { RotateWebhookSecretRequest, secretResponse } from "../core/webhook.ts";
import { pageOfFiles, renderInFlight, renderSnapshot } from "../core/snapshot.ts";
import { describeIssues, HeadwayError, invalidInput, rejectionError, type ErrorKind } from "../core/errors.ts";
import { parseMessageBody } from "../core/ingest.ts";
import { reduce } from "../core/estimator.ts";
import { openApiDocument } from "../core/openapi.ts";
import { partitioningFor } from "../core/partition.ts";
import { createJobState } from "../core/state.ts";
import { mintToken, refusalMessage, tokenKeysOf, verifyToken, type TokenKeys, type TokenRefusal } from "../core/token.ts";
import { eventPages, jobEventFor } from "../core/realtime.ts";
import { streamSSE, type SSEStreamingApi } from "hono/streaming";
import { envelopesOf } from "../core/envelopes.ts";
import { lazyHandler, type Log } from "./config.ts";
import type { Admin } from "./admin.ts";
import type { AdminEnv } from "./admin-api.ts";
import { newJobMeta } from "./identity.ts";
import { STREAMS } from "./settings.ts";

export interface ApiDeps {
  store: JobStore;
  jobIndex: JobIndex;
  rejections: RejectionLog;
  streamSlots: StreamSlots;
  webhookLog: WebhookLog;
  /** The tenant's webhook secrets (read at /v1/webhook-secret; rotated through `admin`, which audits it). */
  webhookSecrets: WebhookSecrets;
  /** The audited operations a tenant's admin-scoped key may run on its own tenant (its keys, its webhook secret). */
  admin: Admin;
  /** Creating a job with a `notify_url` registers that URL again if it had answered 410 Gone. */
  webhookEndpoints: WebhookEndpoints;
  apiKeys: ApiKeyStore;
  publisher: EventPublisher;
  log: Log;
  now: () => number;
  /** Base URL clients reach this API at (for `status_url`); the request's own origin when absent. */
  publicUrl?: string | undefined;
  websocketUrl?: string | null;
  /** The subscriber-token signing secrets as configured: one, or several separated by spaces, the newest (signing) first. */
  tokenSecret: string;
  newJobId?: () => string;
  /** The admin API (functions/admin-api.ts), mounted at /v1/admin with its own auth. */
  adminApp?: Hono<AdminEnv>;
  /** How often an update stream looks for changes and asks again whether its credential stands, how long one lasts before asking the client to reconnect, and how many may be open. */
  streams?: { pollMs?: number; recheckMs?: number; maxStreamMs?: number; perCredential?: number; perTenant?: number };
}

export type ApiEnv = { Variables: { tenant: string; requestId: string; key: KeyPrincipal } };
type Env = ApiEnv;

const MAX_BODY_BYTES = 1024 * 1024;
/** An update stream's slot lapses this long after its last renewal (if the Lambda running it dies). */
const SLOT_LEASE_MS = 90_000;
/** Entries returned by the rejection and webhook logs (newest first). */
const LOG_LIMIT = 100;

/** How often an update stream asks again whether its credential still stands (the key cache's window adds to it: revocation bites within a minute). */
const CREDENTIAL_RECHECK_MS = 15_000;

const STATUS_OF: Record<ErrorKind, 400 | 401 | 403 | 404 | 409 | 413 | 429 | 503> = {
  invalid_input: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  too_large: 413,
  too_many: 429,
  unavailable: 503,
};

const notFound = (jobId: string) => new HeadwayError("not_found", "job_not_found", `no job ${jobId}`);

/** Why an API key was refused: revoked (when, and what to do), or not a key at all. */
async function refusedKey(apiKeys: Pick<ApiKeyStore, "revokedAt">, apiKey: string | null, otherwise: string): Promise<HeadwayError> {
  const revokedAtMs = apiKey === null ? null : await apiKeys.revokedAt(apiKey);
  if (revokedAtMs === null) return new HeadwayError("unauthorized", "unauthorized", otherwise);
  return new HeadwayError(
    "unauthorized",
    "key_revoked",
    `this API key was revoked at ${new Date(revokedAtMs).toISOString()}; ask an admin of the tenant for a new one (headway keys create, or POST /v1/keys with an admin key)`,
  );
}

/** Past this, the suggested request is described rather than written out in the message. */
const SUGGESTED_BODY_CHARS = 1_000;

/**
 * Events sent over HTTP to a job that does not exist: what to do instead. On the queue a
 * `job.declared` creates its job; over HTTP a job is created by `POST /v1/jobs` (which answers
 * with its URLs and a subscriber token), so the answer spells out that request, built from the
 * declaration the events carry when they carry one.
 */
export function unknownJobOverHttp(jobId: string, events: readonly Event[]): HeadwayError {
  const declared = events.find((event) => event.type === "job.declared");
  const { v: _v, type: _type, job_id: _jobId, event_id: _eventId, at: _at, ...declaration } = declared ?? ({} as Record<string, unknown>);
  const body = JSON.stringify({ job_id: jobId, ...declaration });
  const request = body.length <= SUGGESTED_BODY_CHARS ? `POST /v1/jobs ${body}` : `POST /v1/jobs with {"job_id":"${jobId}"} and the declaration's fields (plan, originals, …)`;
  const why = declared === undefined ? "" : " (over HTTP a job.declared event does not create its job; on the queue it does)";
  return new HeadwayError("not_found", "job_not_found", `no job ${jobId}: create it first with ${request}${why}, then send its events here`);
}

const rejectionView = (r: RejectionRecord) => ({ ...(r.incarnation === null ? { job_id: r.jobId } : {}), code: r.code, reason: r.reason, source: r.source, excerpt: r.excerpt, at: new Date(r.atMs).toISOString() });

export function createApp(deps: ApiDeps): Hono<Env> {
  const app = new Hono<Env>();
  app.use(requestId());
  app.use(async (c, next) => {
    const started = deps.now();
    await next();
    deps.log("info", "request", { request_id: c.get("requestId"), tenant: c.get("tenant") ?? null, job_id: jobIdIn(c.req.path), method: c.req.method, path: c.req.path, status: c.res.status, ms: deps.now() - started });
  });
  app.use("/v1/*", bodyLimit({ maxSize: MAX_BODY_BYTES, onError: () => { throw new HeadwayError("too_large", "oversized", `request bodies are limited to ${MAX_BODY_BYTES} bytes`); } }));

  app.get("/v1/openapi.json", (c) => c.json(openApiDocument()));
  // Each group authenticates on its own (see the module's header): mounting order does not matter.
  if (deps.adminApp !== undefined) app.route("/v1/admin", deps.adminApp);
  app.route("/v1/jobs/:id/stream", createStreamApp(deps));
  app.route("/v1", createTenantApp(deps));

  app.notFound((c) => c.json({ error: { code: "not_found", message: `no route ${c.req.method} ${c.req.path}`, request_id: c.get("requestId") } }, 404));

  app.onError((error, c) => {
    const request_id = c.get("requestId");
    if (error instanceof HeadwayError) {
      const fields = error.issues.length > 0 ? error.issues : undefined;
      return c.json({ error: { code: error.code, message: error.message, ...(fields === undefined ? {} : { fields }), request_id } }, STATUS_OF[error.kind]);
    }
    deps.log("error", "request failed", { request_id, tenant: c.get("tenant") ?? null, job_id: jobIdIn(c.req.path), error: String(error), stack: (error as Error).stack });
    return c.json({ error: { code: "internal", message: "internal error", request_id } }, 500);
  });

  return app;
}

/** How an update stream's caller proved who it is, and how to ask again whether that still stands. */
interface StreamCredential {
  tenant: string;
  /** What its slot is counted under (a hash: never the credential itself). */
  slotKey: string;
  /** Null while the credential stands; else why it no longer does. */
  recheck: () => Promise<TokenRefusal | "key_revoked" | null>;
}

/**
 * The update stream (`GET /v1/jobs/{id}/stream`) as a sub-app with its own auth: a subscriber
 * token for the job (`Authorization: Bearer`, or `?token=`: browsers' EventSource cannot send
 * headers) or an API key with the `read` scope, in the header only. An API key in the URL is
 * refused (URLs end up in access logs and browser history).
 */
function createStreamApp(deps: ApiDeps): Hono<Env> {
  const app = new Hono<Env>();
  const tokenKeys = tokenKeysOf(deps.tokenSecret);
  const slotKeyOf = (credential: string) => `credential:${createHash("sha256").update(credential).digest("hex").slice(0, 32)}`;

  async function fromToken(token: string, jobId: string): Promise<StreamCredential> {
    const check = verifyToken(token, tokenKeys, deps.now());
    if (!check.ok) throw new HeadwayError("unauthorized", check.reason === "expired" ? "token_expired" : "unauthorized", refusalMessage(check.reason));
    const { tenant, keyId, expiresAtMs, jobIds } = check.claims;
    if (!jobIds.includes(jobId)) throw new HeadwayError("unauthorized", "unauthorized", `the token does not cover job ${jobId}; mint one that does (POST /v1/tokens with job_ids)`);
    if (!(await deps.apiKeys.isActive(tenant, keyId))) throw new HeadwayError("unauthorized", "key_revoked", refusalMessage("key_revoked"));
    return {
      tenant,
      slotKey: slotKeyOf(token),
      recheck: async () => (deps.now() >= expiresAtMs ? "expired" : (await deps.apiKeys.isActive(tenant, keyId)) ? null : "key_revoked"),
    };
  }

  async function fromApiKey(apiKey: string): Promise<StreamCredential> {
    const principal = await deps.apiKeys.principalOf(apiKey);
    if (principal === null) throw await refusedKey(deps.apiKeys, apiKey, "send a valid API key or subscriber token as `Authorization: Bearer <credential>`");
    requireScope(principal, "read");
    return { tenant: principal.tenant, slotKey: slotKeyOf(apiKey), recheck: async () => ((await deps.apiKeys.principalOf(apiKey)) === null ? "key_revoked" : null) };
  }

  app.get("/", async (c) => {
    const jobId = c.req.param("id")!;
    const inHeader = bearerOf(c);
    const inUrl = c.req.query("token");
    let credential: StreamCredential;
    if (inHeader !== null) credential = isTokenShaped(inHeader) ? await fromToken(inHeader, jobId) : await fromApiKey(inHeader);
    else if (inUrl !== undefined && inUrl !== "") {
      if (!isTokenShaped(inUrl)) throw new HeadwayError("unauthorized", "api_key_in_url", "?token= takes a subscriber token only (POST /v1/tokens); an API key goes only in the `Authorization: Bearer` header, never in a URL (URLs end up in logs and browser history)");
      credential = await fromToken(inUrl, jobId);
    } else throw new HeadwayError("unauthorized", "unauthorized", "send a subscriber token for this job (`Authorization: Bearer <token>`, or `?token=<token>` where headers cannot be set) or an API key with the read scope in the header");
    const ref = { tenant: credential.tenant, jobId };
    c.set("tenant", credential.tenant);
    if ((await deps.store.loadForBatch(ref, [])) === null) throw notFound(jobId);
    // Each stream holds a Lambda invocation: bounded per credential and per tenant.
    const holder = randomUUID();
    const slots = [
      { key: credential.slotKey, limit: deps.streams?.perCredential ?? STREAMS.perCredential },
      { key: `tenant:${credential.tenant}`, limit: deps.streams?.perTenant ?? STREAMS.perTenant },
    ];
    const full = await deps.streamSlots.acquire(holder, slots, SLOT_LEASE_MS);
    if (full !== null) {
      const [what, limit] = full === credential.slotKey ? ["this credential", slots[0]!.limit] : ["this tenant", slots[1]!.limit];
      c.header("Retry-After", "10");
      throw new HeadwayError("too_many", "too_many_streams", `${what} already has ${limit} update streams open (the limit); close one, or poll GET /v1/jobs/${jobId}`);
    }
    return streamUpdates(c, ref, { holder, keys: slots.map((slot) => slot.key) }, credential.recheck, c.req.query("detail") === "true");
  });

  /**
   * The update stream in the framing of Transloadit's: `event: assembly_execution_progress` with
   * the snapshot as `data` whenever the job moved (under the ticker's rules: when the job asked
   * for progress and an estimate is available, or always with `?detail=true`, each event then
   * carrying the in-flight detail), `event: job_finished` with the final snapshot, then the
   * unnamed `data: assembly_finished`, and the stream ends. A snapshot too large for one message
   * goes as several, each a page of its file list (as WebSocket frames do). A stream that outlives
   * `streamMaxMs` ends with a `retry` hint; EventSource reconnects by itself. A stream whose
   * token expired or whose key was revoked ends with `event: error` naming why (within
   * CREDENTIAL_RECHECK_MS and the key cache's window: under a minute).
   */
  function streamUpdates(c: Context<Env>, ref: JobRef, slot: { holder: string; keys: string[] }, recheck: StreamCredential["recheck"], isDetailed: boolean) {
    return streamSSE(c, async (stream) => {
      try {
        await pushUpdates(stream, ref, slot, recheck, isDetailed);
      } finally {
        await deps.streamSlots.release(slot.holder, slot.keys).catch((error: unknown) => deps.log("warn", "stream slot not released (it lapses)", { error: String(error) }));
      }
    });
  }

  async function pushUpdates(stream: SSEStreamingApi, ref: JobRef, slot: { holder: string; keys: string[] }, recheck: StreamCredential["recheck"], isDetailed: boolean): Promise<void> {
    const started = deps.now();
    let sentVersion = -1;
    let lastWriteMs = deps.now();
    let renewedMs = deps.now();
    let checkedMs = deps.now();
    while (!stream.aborted && deps.now() - started < (deps.streams?.maxStreamMs ?? STREAMS.maxStreamMs)) {
      if (deps.now() - checkedMs >= (deps.streams?.recheckMs ?? CREDENTIAL_RECHECK_MS)) {
        const lapsed = await recheck();
        if (lapsed !== null) {
          await stream.writeSSE({ event: "error", data: JSON.stringify({ code: lapsed === "expired" ? "token_expired" : lapsed, message: refusalMessage(lapsed).replace("token refused: ", "stream closed: ") }) });
          return;
        }
        checkedMs = deps.now();
      }
      if (deps.now() - renewedMs > SLOT_LEASE_MS / 3) {
        await deps.streamSlots.renew(slot.holder, slot.keys, SLOT_LEASE_MS);
        renewedMs = deps.now();
      }
      // The head alone tells whether anything moved; the whole job is read only when it did (and
      // not while a write is in progress: the next poll sees it committed).
      const head = await deps.store.loadForBatch(ref, []);
      if (head === null) break;
      const read = head.state.version === sentVersion ? null : await deps.store.loadJob(ref);
      const job = read === "busy" ? null : read;
      if (job !== null) {
        sentVersion = job.state.version;
        const jobEvent = jobEventFor(renderSnapshot(job.state), job.state.emitExecutionProgress?.value ?? false, isDetailed);
        if (jobEvent !== null) {
          for (const page of eventPages(jobEvent, isDetailed ? renderInFlight(job.state) : undefined)) await stream.writeSSE({ event: page.event, data: JSON.stringify(page.data), id: String(sentVersion) });
          lastWriteMs = deps.now();
        }
        if (jobEvent?.event === "job_finished") {
          await stream.writeSSE({ data: "assembly_finished" });
          return;
        }
      }
      if (deps.now() - lastWriteMs > 15_000) {
        await stream.write(": keep-alive\n\n");
        lastWriteMs = deps.now();
      }
      await stream.sleep(deps.streams?.pollMs ?? STREAMS.pollMs);
    }
    await stream.writeSSE({ data: "", retry: 1000 });
  }

  return app;
}

/** Refuses a key without the scope a route needs, naming what to do. */
function requireScope(principal: KeyPrincipal, scope: Scope): void {
  if (!principal.scopes.includes(scope)) {
    throw new HeadwayError("forbidden", "missing_scope", `this API key (${principal.keyId}) lacks the ${scope} scope (it has ${principal.scopes.join(", ")}); use a key made with --scope ${scope}`);
  }
}

/**
 * The tenant routes: each takes an API key in `Authorization: Bearer` with the scope it names
 * (the auth runs in the route itself, so that a route added anywhere is never left open).
 */
function createTenantApp(deps: ApiDeps): Hono<Env> {
  const app = new Hono<Env>();
  const newJobId = deps.newJobId ?? (() => `job_${randomUUID().replaceAll("-", "")}`);
  const tokenKeys = tokenKeysOf(deps.tokenSecret);
  const withKey = (scope: Scope) =>
    createMiddleware<Env>(async (c, next) => {
      const apiKey = bearerOf(c);
      const principal = apiKey === null ? null : await deps.apiKeys.principalOf(apiKey);
      if (principal === null) throw await refusedKey(deps.apiKeys, apiKey, "send a valid API key as `Authorization: Bearer <key>`");
      requireScope(principal, scope);
      c.set("tenant", principal.tenant);
      c.set("key", principal);
      await next();
    });
  const ingest = withKey("ingest");
  const read = withKey("read");
  const admin = withKey("admin");
  /** A tenant's own key acting on its tenant, for the audit log. */
  const actorOf = (c: Context<Env>) => ({ actor: `key:${c.get("key").keyId}`, requestId: c.get("requestId"), ownTenant: c.get("tenant") });

  const refOf = (c: Context<Env>, jobId: string): JobRef => ({ tenant: c.get("tenant"), jobId });

  const jobOf = async (c: Context<Env>, jobId: string): Promise<JobMeta> => {
    const head = await deps.store.loadForBatch(refOf(c, jobId), []);
    if (head === null) throw notFound(jobId);
    return head.meta;
  };

  app.get("/jobs", read, async (c) => {
    const query = JobListQuery.safeParse(c.req.query());
    if (!query.success) throw invalidInput(query.error);
    let page;
    try {
      page = await deps.jobIndex.list(c.get("tenant"), { limit: query.data.limit, cursor: query.data.cursor ?? null });
    } catch (error) {
      if (error instanceof RangeError) throw new HeadwayError("invalid_input", "invalid_input", "cursor: not a cursor this API gave", { issues: [{ field: "cursor", message: "not a cursor this API gave" }] });
      throw error;
    }
    const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
    return c.json({
      jobs: page.jobs.map((job) => ({
        job_id: job.jobId,
        status: job.status,
        version: job.version,
        progress_combined: job.progressCombined,
        eta_seconds: job.etaSeconds,
        created_at: iso(job.createdAtMs),
        updated_at: iso(job.updatedAtMs),
      })),
      next_cursor: page.nextCursor,
    });
  });

  app.post("/jobs", ingest, async (c) => {
    const body = CreateJobRequest.safeParse(await jsonBody(c));
    if (!body.success) throw invalidInput(body.error);
    const request = body.data;
    const jobId = request.job_id ?? newJobId();
    const nowMs = deps.now();
    const { job_id: _ignored, ...declaration } = request;
    const declared: Event = { v: 1, type: "job.declared", job_id: jobId, event_id: `create-${jobId}`, at: new Date(nowMs).toISOString(), ...declaration };
    const state = createJobState(jobId, partitioningFor(request));
    reduce(state, [declared], nowMs);
    const isCreated = await deps.store.createJob(newJobMeta(refOf(c, jobId), nowMs), state);
    if (!isCreated) throw new HeadwayError("conflict", "job_exists", `job ${jobId} already exists`);
    if (request.notify_url !== undefined) await deps.webhookEndpoints.revive(c.get("tenant"), request.notify_url);
    const base = deps.publicUrl ?? new URL(c.req.url).origin;
    // A subscriber token reads the job: only a key that may read gets one (an ingest-only worker's key gets null).
    const key = c.get("key");
    const token = key.scopes.includes("read") ? mintToken({ tenant: key.tenant, keyId: key.keyId, jobIds: [jobId], expiresAtMs: nowMs + 24 * 3600 * 1000 }, tokenKeys) : null;
    return c.json(
      { job_id: jobId, status_url: `${base}/v1/jobs/${jobId}`, websocket_url: deps.websocketUrl ?? null, subscriber_token: token },
      201,
    );
  });

  app.get("/jobs/:id", read, async (c) => {
    const jobId = c.req.param("id");
    const paging = FilesPageQuery.safeParse(c.req.query());
    if (!paging.success) throw invalidInput(paging.error);
    const loaded = await deps.store.loadJob(refOf(c, jobId));
    if (loaded === null) throw notFound(jobId);
    if (loaded === "busy") {
      c.header("Retry-After", "1");
      throw new HeadwayError("unavailable", "job_busy", `job ${jobId} is being written; try again in a moment`);
    }
    const { files_page: page, files_per_page: perPage, in_flight_page: inFlightIndex, in_flight_per_page: inFlightPerPage } = paging.data;
    const snapshot: Snapshot = renderSnapshot(loaded.state, { detail: c.req.query("detail") === "true", history: true, inFlightPage: { index: inFlightIndex, perPage: inFlightPerPage } });
    return c.json(page === undefined ? snapshot : pageOfFiles(snapshot, page, perPage));
  });

  app.post("/jobs/:id/events", ingest, async (c) => {
    const jobId = c.req.param("id");
    // The same parser as the queue's, so a bad event gets the same code and field on both paths.
    const { events, rejections, isEnvelope } = parseMessageBody(await c.req.text());
    if (rejections.length > 0) {
      const fields = rejections.flatMap((rejection) => rejection.fields ?? [{ field: "", message: rejection.message }]);
      throw rejectionError({ code: rejections[0]!.code, message: describeIssues(fields), fields });
    }
    const strangers = events.flatMap((event, index) => (event.job_id === jobId ? [] : [{ field: isEnvelope ? `events[${index}].job_id` : "job_id", message: `must be ${jobId}, the job in the path` }]));
    if (strangers.length > 0) throw rejectionError({ code: "wrong_job", message: describeIssues(strangers), fields: strangers });
    if ((await deps.store.loadForBatch(refOf(c, jobId), [])) === null) throw unknownJobOverHttp(jobId, events);
    const messages = envelopesOf(events);
    await deps.publisher.publish(messages, c.get("tenant"));
    return c.json({ accepted: events.length, messages: messages.length }, 202);
  });

  app.get("/jobs/:id/rejections", read, async (c) => {
    const jobId = c.req.param("id");
    const meta = await jobOf(c, jobId);
    const records = await deps.rejections.list(meta.tenant, meta, LOG_LIMIT);
    return c.json({ job_id: jobId, rejections: records.map(rejectionView) });
  });

  /** Input no job took: events for jobs that never appeared, or messages that named no job. */
  app.get("/rejections", read, async (c) => {
    const records = await deps.rejections.list(c.get("tenant"), null, LOG_LIMIT);
    return c.json({ rejections: records.map(rejectionView) });
  });

  app.get("/jobs/:id/webhooks", read, async (c) => {
    const jobId = c.req.param("id");
    const entries = await deps.webhookLog.list(await jobOf(c, jobId), LOG_LIMIT);
    return c.json({
      job_id: jobId,
      deliveries: entries.map((entry) => ({
        webhook_id: entry.webhookId,
        attempt: entry.attempt,
        url: entry.url,
        outcome: entry.outcome,
        status: entry.status,
        error: entry.error,
        duration_ms: entry.ms,
        at: new Date(entry.atMs).toISOString(),
        next_attempt_at: entry.nextAttemptAtMs === null ? null : new Date(entry.nextAttemptAtMs).toISOString(),
      })),
    });
  });

  app.get("/webhook-secret", admin, async (c) => c.json(secretResponse(await deps.webhookSecrets.secretsOf(c.get("tenant")))));

  app.post("/webhook-secret/rotate", admin, async (c) => {
    const text = await c.req.text();
    const body = RotateWebhookSecretRequest.safeParse(text.trim() === "" ? {} : parseJson(text));
    if (!body.success) throw invalidInput(body.error);
    return c.json(secretResponse(await deps.admin.rotateWebhookSecret(actorOf(c), c.get("tenant"), body.data.overlap_seconds)));
  });

  // A tenant's own keys, administered with an admin-scoped key of that tenant (audited as `key:<id>`).
  app.get("/keys", admin, async (c) => c.json({ keys: (await deps.admin.listKeys(c.get("tenant"), actorOf(c))).map(keyView) }));

  app.post("/keys", admin, async (c) => {
    const text = await c.req.text();
    const body = CreateKeyRequest.safeParse(text.trim() === "" ? {} : parseJson(text));
    if (!body.success) throw invalidInput(body.error);
    const { apiKey, record } = await deps.admin.createKey(actorOf(c), c.get("tenant"), body.data.name, body.data.scopes ?? DEFAULT_SCOPES);
    return c.json({ ...keyView(record), key: apiKey }, 201);
  });

  app.delete("/keys/:key", admin, async (c) => c.json(keyView(await deps.admin.revokeKey(actorOf(c), c.get("tenant"), c.req.param("key")))));

  app.post("/tokens", read, async (c) => {
    const body = TokenRequest.safeParse(await jsonBody(c));
    if (!body.success) throw invalidInput(body.error);
    for (const jobId of body.data.job_ids) await jobOf(c, jobId);
    const expiresAtMs = deps.now() + body.data.expires_in_seconds * 1000;
    const key = c.get("key");
    const token = mintToken({ tenant: key.tenant, keyId: key.keyId, jobIds: body.data.job_ids, expiresAtMs }, tokenKeys);
    return c.json({ token, expires_at: new Date(Math.floor(expiresAtMs / 1000) * 1000).toISOString(), websocket_url: deps.websocketUrl ?? null }, 201);
  });

  return app;
}

/** The job a request is about, for its log line (middleware runs before a route's params are known). */
function jobIdIn(path: string): string | null {
  return /^\/v1\/jobs\/([^/]+)/.exec(path)?.[1] ?? null;
}

/** A subscriber token is `<base64url>.<base64url>`; an API key has no dot. */
function isTokenShaped(credential: string): boolean {
  return /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/.test(credential);
}

function bearerOf(c: Context<Env>): string | null {
  const match = /^Bearer\s+(\S+)$/i.exec(c.req.header("authorization") ?? "");
  return match === null ? null : match[1]!;
}

async function jsonBody(c: Context<Env>): Promise<unknown> {
  return parseJson(await c.req.text());
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new HeadwayError("invalid_input", "invalid_json", `the body is not JSON: ${(error as Error).message}`);
  }
}

/** Builds the real app on the first request (through the composition root), so that importing this module reads no environment. */
const environmentApp = lazyHandler(async () => {
  const app = (await import("./composition.ts")).environmentServices().api();
  return (request: Request) => Promise.resolve(app.fetch(request));
});
const lazyApp = new Hono<Env>().all("*", (c) => environmentApp(c.req.raw));

/**
 * The Lambda entry point behind a Function URL. Response streaming (for the SSE endpoint) needs
 * the handler wrapped by Lambda's `awslambda.streamifyResponse` at load time, which only exists
 * inside Lambda's Node runtime; elsewhere (tests, the sandbox) it is a buffered handler.
 */
const isLambdaStreamingRuntime = typeof (globalThis as { awslambda?: { streamifyResponse?: unknown } }).awslambda?.streamifyResponse === "function";
export const handler = isLambdaStreamingRuntime ? streamHandle(lazyApp) : handle(lazyApp);
