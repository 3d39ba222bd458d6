/**
 * The producer SDK's client: `createHeadway` wires a transport (the HTTP API or an SQS queue), the
 * batcher and the job handles. It fills in what every event needs (`v`, `job_id`, a unique
 * `event_id`, `at`), checks each event against the contract at the call (the same parser the
 * service uses, so a mistake throws where it was made instead of being rejected later on a queue),
 * and makes sure that `flush()`/`close()` leave nothing behind: held-back reporter values, waiting
 * batches and sends in flight.
 */
import { CreateJobResponse, TokenResponse, type CreateJobRequest } from "../../core/contract/http.ts";
import { Snapshot } from "../../core/contract/snapshot.ts";
import { type DeclaredOriginal, type Event } from "../../core/contract/events.ts";
import { type Plan } from "../../core/contract/plan.ts";
import { parseMessage } from "../../core/contract/ingest.ts";
import { createBatcher } from "./batcher.ts";
import { HeadwayApiError, HeadwayClosedError, HeadwayInvalidEventError, HeadwaySdkError, type DeliveryFailure } from "./errors.ts";
import { createHttpApi, type HttpApi } from "./http-api.ts";
import { createJob, type EventDraft, type Job } from "./job.ts";
import type { Reporter } from "./reporter.ts";
import { DEFAULT_RETRY, type RetryPolicy } from "./retry.ts";
import { createSqsTransport, type SqsTransportOptions } from "./sqs-transport.ts";

interface CommonOptions {
  /** How long events wait to be batched with others before they are sent (default 100 ms). */
  lingerMs?: number;
  /** Retries on 429, 5xx and network errors (default: 8 tries, 100 ms doubling up to 10 s, full jitter). */
  retry?: Partial<RetryPolicy>;
  /** Per HTTP request (default 15 s); a timeout is retried. */
  requestTimeoutMs?: number;
  /** Sends in flight at once (default 8). */
  concurrency?: number;
  /** Called for every batch that could not be delivered in the background (the next `flush()` rejects with it too). */
  onError?: (error: Error, failure: DeliveryFailure) => void;
  /** The clock for `at` and the reporters' throttles (default `Date.now`). */
  now?: () => number;
  fetch?: typeof globalThis.fetch;
}

export type HeadwayOptions = CommonOptions &
  (
    | { url: string; apiKey: string; /** Send events to this queue instead of the HTTP API (jobs are still created over HTTP). */ sqs?: SqsTransportOptions }
    | { sqs: SqsTransportOptions; url?: undefined; apiKey?: undefined }
  );

export interface CreateJobOptions {
  /** Your id for the job (1–128 of `[A-Za-z0-9._:-]`); a random one by default. */
  jobId?: string;
  plan?: Plan;
  originals?: { originalId: string; mime?: string; source?: "upload" | "import" }[];
  expectOriginals?: number | "unknown";
  emitExecutionProgress?: boolean;
  notifyUrl?: string;
  notifyMilestones?: number[];
}

export interface Headway {
  /** Creates a job over the HTTP API (`POST /v1/jobs`) and returns its handle. */
  createJob(options?: CreateJobOptions): Promise<Job>;
  /** The handle of an existing job (the same handle for the same id until the job ends). */
  job(jobId: string): Job;
  /** Sends everything reported so far and waits until it was accepted; rejects with what was lost since the last flush. */
  flush(): Promise<void>;
  /** `flush()`, then refuses further reports. Await it before a Lambda returns or a script exits. */
  close(): Promise<void>;
}

export function createHeadway(options: HeadwayOptions): Headway {
  const now = options.now ?? Date.now;
  const retry: RetryPolicy = { ...DEFAULT_RETRY, ...options.retry };
  const http: HttpApi | null =
    options.url === undefined
      ? null
      : createHttpApi({ url: options.url, apiKey: options.apiKey, retry, requestTimeoutMs: options.requestTimeoutMs ?? 15_000, fetch: options.fetch ?? globalThis.fetch, now });
  const transport = options.sqs === undefined ? http! : createSqsTransport(options.sqs, retry);
  const batcher = createBatcher({ transport, lingerMs: options.lingerMs ?? 100, concurrency: options.concurrency ?? 8, onError: options.onError });
  const heldReporters = new Set<Reporter>();
  const jobs = new Map<string, Job>();
  // Unique per client: a random prefix and a counter (the service dedupes on event_id).
  const idPrefix = globalThis.crypto.randomUUID().replaceAll("-", "").slice(0, 16);
  let counter = 0;
  let isClosed = false;

  const needHttp = (what: string): HttpApi => {
    if (http === null) throw new HeadwaySdkError(`${what} needs the HTTP API: give createHeadway a url and an apiKey`);
    return http;
  };

  function assertOpen(what: string): void {
    if (isClosed) throw new HeadwayClosedError(`this Headway client is closed; ${what} was not sent`);
  }

  function emit(jobId: string, draft: EventDraft, emitOptions: { atMs?: number; coalesceKey?: string } = {}): void {
    assertOpen(`${draft.type} of job ${jobId}`);
    const event = { v: 1, job_id: jobId, event_id: `${idPrefix}.${(counter++).toString(36)}`, at: new Date(emitOptions.atMs ?? now()).toISOString(), ...draft } as Event;
    const { rejections } = parseMessage(event, "");
    const rejection = rejections[0];
    if (rejection !== undefined) throw new HeadwayInvalidEventError(rejection.code, `${draft.type}: ${rejection.message}`, [...(rejection.fields ?? [])]);
    batcher.add(event, emitOptions.coalesceKey);
  }

  const context = {
    emit,
    assertOpen,
    now,
    onReporterHeld(reporter: Reporter, isHeld: boolean) {
      if (isHeld) heldReporters.add(reporter);
      else heldReporters.delete(reporter);
    },
    async snapshot(jobId: string, detail: boolean) {
      const body = await needHttp("snapshot()").request("GET", `/v1/jobs/${encodeURIComponent(jobId)}${detail ? "?detail=true" : ""}`);
      return Snapshot.parse(body);
    },
    onFinished(jobId: string) {
      jobs.delete(jobId);
    },
  };

  const handleOf = (info: Parameters<typeof createJob>[0]): Job => {
    const job = createJob(info, context);
    jobs.set(info.jobId, job);
    return job;
  };

  async function flush(): Promise<void> {
    for (const reporter of [...heldReporters]) reporter.flush();
    await batcher.flush();
  }

  return {
    async createJob(jobOptions = {}) {
      const api = needHttp("createJob()");
      // The id is chosen here so that a retried request whose first try did create the job is recognised (409 on our own random id).
      const isOurId = jobOptions.jobId === undefined;
      const jobId = jobOptions.jobId ?? `job_${globalThis.crypto.randomUUID().replaceAll("-", "")}`;
      const request: CreateJobRequest = {
        job_id: jobId,
        ...(jobOptions.plan === undefined ? {} : { plan: jobOptions.plan }),
        ...(jobOptions.originals === undefined ? {} : { originals: jobOptions.originals.map(originalOf) }),
        ...(jobOptions.expectOriginals === undefined ? {} : { expect_originals: jobOptions.expectOriginals }),
        ...(jobOptions.emitExecutionProgress === undefined ? {} : { emit_execution_progress: jobOptions.emitExecutionProgress }),
        ...(jobOptions.notifyUrl === undefined ? {} : { notify_url: jobOptions.notifyUrl }),
        ...(jobOptions.notifyMilestones === undefined ? {} : { notify_milestones: jobOptions.notifyMilestones }),
      };
      try {
        const created = CreateJobResponse.parse(await api.request("POST", "/v1/jobs", request));
        return handleOf({ jobId: created.job_id, statusUrl: created.status_url, websocketUrl: created.websocket_url, subscriberToken: created.subscriber_token });
      } catch (error) {
        if (!(isOurId && error instanceof HeadwayApiError && error.code === "job_exists")) throw error;
        // A key without the read scope (a worker's ingest-only key) gets no token, as creating the job gave none.
        const token = await api.request("POST", "/v1/tokens", { job_ids: [jobId], expires_in_seconds: 24 * 3600 }).then(
          (body) => TokenResponse.parse(body).token,
          (refusal: unknown) => {
            if (refusal instanceof HeadwayApiError && refusal.code === "missing_scope") return null;
            throw refusal;
          },
        );
        return handleOf({ jobId, statusUrl: `${api.url}/v1/jobs/${jobId}`, websocketUrl: null, subscriberToken: token });
      }
    },
    job(jobId) {
      return jobs.get(jobId) ?? handleOf({ jobId, statusUrl: http === null ? null : `${http.url}/v1/jobs/${encodeURIComponent(jobId)}`, websocketUrl: null, subscriberToken: null });
    },
    flush,
    async close() {
      // Held-back reporter values go out first; reports made after this point are refused.
      for (const reporter of [...heldReporters]) reporter.flush();
      isClosed = true;
      await batcher.flush();
    },
  };
}

function originalOf(original: { originalId: string; mime?: string; source?: "upload" | "import" }): DeclaredOriginal {
  return { original_id: original.originalId, ...(original.mime === undefined ? {} : { mime: original.mime }), ...(original.source === undefined ? {} : { source: original.source }) };
}
