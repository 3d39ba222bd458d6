/**
 * The tenant's jobs (`/v1/jobs…`, `/v1/rejections`): list, create, read a snapshot, ingest events,
 * and the log of refused input. Each route takes an API key with the scope it names (`ingest` to
 * create and send, `read` to read).
 */
import { Hono } from "hono";
import { randomUUID } from "node:crypto";
import type { Event } from "../../core/contract/events.ts";
import { CreateJobRequest, FilesPageQuery, JobListQuery } from "../../core/contract/http.ts";
import { envelopesOf } from "../../core/contract/envelopes.ts";
import { parseMessageBody } from "../../core/contract/ingest.ts";
import { describeIssues, invalidInput } from "../../core/contract/issues.ts";
import { rejectionError } from "../../core/contract/rejection.ts";
import type { Snapshot } from "../../core/contract/snapshot.ts";
import { mintToken, tokenKeysOf } from "../../core/access/token.ts";
import { createJobState, pageOfFiles, partitioningFor, reduce, renderSnapshot } from "../../core/estimator/index.ts";
import { HeadwayError } from "../../core/errors.ts";
import type { ApiKeyStore, EventPublisher, JobIndex, JobStore, RejectionLog, RejectionRecord, WebhookEndpoints } from "../../core/ports.ts";
import { newJobMeta } from "../identity.ts";
import { jobNotFound, jobOf, jsonBody, keyAuth, LOG_LIMIT, refOf, type ApiEnv } from "./request.ts";

export interface JobsDeps {
  store: JobStore;
  jobIndex: JobIndex;
  rejections: RejectionLog;
  publisher: EventPublisher;
  /** Creating a job with a `notify_url` registers that URL again if it had answered 410 Gone. */
  webhookEndpoints: WebhookEndpoints;
  apiKeys: Pick<ApiKeyStore, "principalOf" | "revokedAt">;
  now: () => number;
  /** Base URL clients reach this API at (for `status_url`); the request's own origin when absent. */
  publicUrl?: string | undefined;
  websocketUrl?: string | null;
  tokenSecret: string;
  newJobId?: () => string;
}

/** Past this, the suggested request is described rather than written out in the message. */
const SUGGESTED_BODY_CHARS = 1_000;
/** A subscriber token minted with a job lasts a day. */
const CREATED_TOKEN_MS = 24 * 3600 * 1000;

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
  return new HeadwayError("job_not_found", `no job ${jobId}: create it first with ${request}${why}, then send its events here`);
}

const rejectionView = (r: RejectionRecord) => ({ ...(r.incarnation === null ? { job_id: r.jobId } : {}), code: r.code, reason: r.reason, source: r.source, excerpt: r.excerpt, at: new Date(r.atMs).toISOString() });

/** Mounted at `/v1`. */
export function createJobsApp(deps: JobsDeps): Hono<ApiEnv> {
  const app = new Hono<ApiEnv>();
  const newJobId = deps.newJobId ?? (() => `job_${randomUUID().replaceAll("-", "")}`);
  const tokenKeys = tokenKeysOf(deps.tokenSecret);
  const withKey = keyAuth(deps.apiKeys);

  app.get("/jobs", withKey("read"), async (c) => {
    const query = JobListQuery.safeParse(c.req.query());
    if (!query.success) throw invalidInput(query.error);
    let page;
    try {
      page = await deps.jobIndex.list(c.get("tenant"), { limit: query.data.limit, cursor: query.data.cursor ?? null });
    } catch (error) {
      if (error instanceof RangeError) throw new HeadwayError("invalid_input", "cursor: not a cursor this API gave", { issues: [{ field: "cursor", message: "not a cursor this API gave" }] });
      throw error;
    }
    const jobs = page.jobs.map(({ meta, head }) => {
      const snapshot = renderSnapshot(head);
      return {
        job_id: meta.jobId,
        status: snapshot.status,
        version: snapshot.version,
        progress_combined: snapshot.progress_combined,
        eta_seconds: snapshot.eta_seconds,
        created_at: new Date(meta.createdAtMs).toISOString(),
        updated_at: snapshot.updated_at,
      };
    });
    return c.json({ jobs, next_cursor: page.nextCursor });
  });

  app.post("/jobs", withKey("ingest"), async (c) => {
    const body = CreateJobRequest.safeParse(await jsonBody(c));
    if (!body.success) throw invalidInput(body.error);
    const request = body.data;
    const jobId = request.job_id ?? newJobId();
    const nowMs = deps.now();
    const { job_id: _ignored, ...declaration } = request;
    const declared: Event = { v: 1, type: "job.declared", job_id: jobId, event_id: `create-${jobId}`, at: new Date(nowMs).toISOString(), ...declaration };
    const state = createJobState(jobId, partitioningFor(request));
    reduce(state, [declared], nowMs);
    if (!(await deps.store.createJob(newJobMeta(refOf(c, jobId), nowMs), state))) throw new HeadwayError("job_exists", `job ${jobId} already exists`);
    if (request.notify_url !== undefined) await deps.webhookEndpoints.revive(c.get("tenant"), request.notify_url);
    const base = deps.publicUrl ?? new URL(c.req.url).origin;
    // A subscriber token reads the job: only a key that may read gets one (an ingest-only worker's key gets null).
    const key = c.get("key");
    const token = key.scopes.includes("read") ? mintToken({ tenant: key.tenant, keyId: key.keyId, jobIds: [jobId], expiresAtMs: nowMs + CREATED_TOKEN_MS }, tokenKeys) : null;
    return c.json({ job_id: jobId, status_url: `${base}/v1/jobs/${jobId}`, websocket_url: deps.websocketUrl ?? null, subscriber_token: token }, 201);
  });

  app.get("/jobs/:id", withKey("read"), async (c) => {
    const jobId = c.req.param("id");
    const paging = FilesPageQuery.safeParse(c.req.query());
    if (!paging.success) throw invalidInput(paging.error);
    const loaded = await deps.store.loadJob(refOf(c, jobId));
    if (loaded === null) throw jobNotFound(jobId);
    if (loaded === "busy") {
      c.header("Retry-After", "1");
      throw new HeadwayError("job_busy", `job ${jobId} is being written; try again in a moment`);
    }
    const { files_page: page, files_per_page: perPage, in_flight_page: inFlightIndex, in_flight_per_page: inFlightPerPage } = paging.data;
    const snapshot: Snapshot = renderSnapshot(loaded.state, { detail: c.req.query("detail") === "true", history: true, inFlightPage: { index: inFlightIndex, perPage: inFlightPerPage } });
    return c.json(page === undefined ? snapshot : pageOfFiles(snapshot, page, perPage));
  });

  app.post("/jobs/:id/events", withKey("ingest"), async (c) => {
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

  app.get("/jobs/:id/rejections", withKey("read"), async (c) => {
    const jobId = c.req.param("id");
    const meta = await jobOf(deps.store, c, jobId);
    const records = await deps.rejections.list(meta.tenant, meta, LOG_LIMIT);
    return c.json({ job_id: jobId, rejections: records.map(rejectionView) });
  });

  /** Input no job took: events for jobs that never appeared, or messages that named no job. */
  app.get("/rejections", withKey("read"), async (c) => {
    const records = await deps.rejections.list(c.get("tenant"), null, LOG_LIMIT);
    return c.json({ rejections: records.map(rejectionView) });
  });

  return app;
}
