/**
 * The update stream (`GET /v1/jobs/{id}/stream`, docs/http-api.md), a sub-app with its own auth: a
 * subscriber token for the job (`Authorization: Bearer`, or `?token=`: browsers' EventSource
 * cannot send headers) or an API key with the `read` scope, in the header only. An API key in the
 * URL is refused (URLs end up in access logs and browser history).
 *
 * The stream speaks the framing of Transloadit's: `event: assembly_execution_progress` with the
 * snapshot as `data` whenever the job moved (under the ticker's rules: when the job asked for
 * progress and an estimate is available, or always with `?detail=true`, each event then carrying
 * the in-flight detail), `event: job_finished` with the final snapshot, then the unnamed `data:
 * assembly_finished`, and the stream ends. A snapshot too large for one message goes as several,
 * each a page of its file list (as WebSocket frames do). A stream that outlives `maxStreamMs` ends
 * with a `retry` hint; EventSource reconnects by itself. A stream whose token expired or whose key
 * was revoked ends with `event: error` naming why (within CREDENTIAL_RECHECK_MS and the key cache's
 * window: under a minute). Each stream holds a Lambda invocation, so streams are bounded per
 * credential and per tenant.
 */
import { Hono, type Context } from "hono";
import { streamSSE, type SSEStreamingApi } from "hono/streaming";
import { createHash, randomUUID } from "node:crypto";
import { refusalMessage, tokenKeysOf, verifyToken, type TokenKeys } from "../../core/access/token.ts";
import { eventPages, jobEventFor } from "../../core/delivery/frames.ts";
import { renderInFlight, renderSnapshot } from "../../core/estimator/index.ts";
import { HeadwayError } from "../../core/errors.ts";
import type { ApiKeyStore, JobRef, JobStore, StreamSlots } from "../../core/ports.ts";
import type { Log } from "../config.ts";
import { wireError } from "../errors.ts";
import { STREAMS } from "../settings.ts";
import { bearerOf, isTokenShaped, jobNotFound, refusedKey, requireScope, type ApiEnv } from "./request.ts";

export interface StreamsDeps {
  store: JobStore;
  streamSlots: StreamSlots;
  apiKeys: Pick<ApiKeyStore, "principalOf" | "revokedAt" | "isActive">;
  tokenSecret: string;
  log: Log;
  now: () => number;
  /** How often a stream looks for changes and asks again whether its credential stands, how long one lasts before asking the client to reconnect, and how many may be open. */
  streams?: { pollMs?: number; recheckMs?: number; maxStreamMs?: number; perCredential?: number; perTenant?: number };
}

/** A stream's slot lapses this long after its last renewal (if the Lambda running it dies). */
const SLOT_LEASE_MS = 90_000;
/** How often a stream asks again whether its credential still stands (the key cache's window adds to it: revocation bites within a minute). */
const CREDENTIAL_RECHECK_MS = 15_000;
const KEEP_ALIVE_MS = 15_000;

/** How a stream's caller proved who it is, and how to ask again whether that still stands. */
interface StreamCredential {
  tenant: string;
  /** What its slot is counted under (a hash: never the credential itself). */
  slotKey: string;
  /** Null while the credential stands; else why it no longer does. */
  recheck: () => Promise<"token_expired" | "key_revoked" | null>;
}

interface Slot {
  holder: string;
  keys: string[];
}

const slotKeyOf = (credential: string) => `credential:${createHash("sha256").update(credential).digest("hex").slice(0, 32)}`;

async function fromToken(deps: StreamsDeps, tokenKeys: TokenKeys, token: string, jobId: string): Promise<StreamCredential> {
  const check = verifyToken(token, tokenKeys, deps.now());
  if (!check.ok) throw new HeadwayError(check.reason === "expired" ? "token_expired" : "unauthorized", refusalMessage(check.reason));
  const { tenant, keyId, expiresAtMs, jobIds } = check.claims;
  if (!jobIds.includes(jobId)) throw new HeadwayError("unauthorized", `the token does not cover job ${jobId}; mint one that does (POST /v1/tokens with job_ids)`);
  if (!(await deps.apiKeys.isActive(tenant, keyId))) throw new HeadwayError("key_revoked", refusalMessage("key_revoked"));
  return {
    tenant,
    slotKey: slotKeyOf(token),
    recheck: async () => (deps.now() >= expiresAtMs ? "token_expired" : (await deps.apiKeys.isActive(tenant, keyId)) ? null : "key_revoked"),
  };
}

async function fromApiKey(deps: StreamsDeps, apiKey: string): Promise<StreamCredential> {
  const principal = await deps.apiKeys.principalOf(apiKey);
  if (principal === null) throw await refusedKey(deps.apiKeys, apiKey, "send a valid API key or subscriber token as `Authorization: Bearer <credential>`");
  requireScope(principal, "read");
  return { tenant: principal.tenant, slotKey: slotKeyOf(apiKey), recheck: async () => ((await deps.apiKeys.principalOf(apiKey)) === null ? "key_revoked" : null) };
}

async function credentialOf(deps: StreamsDeps, tokenKeys: TokenKeys, c: Context<ApiEnv>, jobId: string): Promise<StreamCredential> {
  const inHeader = bearerOf(c);
  if (inHeader !== null) return isTokenShaped(inHeader) ? fromToken(deps, tokenKeys, inHeader, jobId) : fromApiKey(deps, inHeader);
  const inUrl = c.req.query("token");
  if (inUrl === undefined || inUrl === "") {
    throw new HeadwayError("unauthorized", "send a subscriber token for this job (`Authorization: Bearer <token>`, or `?token=<token>` where headers cannot be set) or an API key with the read scope in the header");
  }
  if (!isTokenShaped(inUrl)) {
    throw new HeadwayError("api_key_in_url", "?token= takes a subscriber token only (POST /v1/tokens); an API key goes only in the `Authorization: Bearer` header, never in a URL (URLs end up in logs and browser history)");
  }
  return fromToken(deps, tokenKeys, inUrl, jobId);
}

/** Takes a slot under the credential and the tenant, or refuses the stream (429) naming which is full. */
async function takeSlot(deps: StreamsDeps, c: Context<ApiEnv>, credential: StreamCredential, jobId: string): Promise<Slot> {
  const holder = randomUUID();
  const slots = [
    { key: credential.slotKey, limit: deps.streams?.perCredential ?? STREAMS.perCredential },
    { key: `tenant:${credential.tenant}`, limit: deps.streams?.perTenant ?? STREAMS.perTenant },
  ];
  const full = await deps.streamSlots.acquire(holder, slots, SLOT_LEASE_MS);
  if (full !== null) {
    const [what, limit] = full === credential.slotKey ? ["this credential", slots[0]!.limit] : ["this tenant", slots[1]!.limit];
    c.header("Retry-After", "10");
    throw new HeadwayError("too_many_streams", `${what} already has ${limit} update streams open (the limit); close one, or poll GET /v1/jobs/${jobId}`);
  }
  return { holder, keys: slots.map((slot) => slot.key) };
}

/** Writes the job's events as it moves, until it finishes, the credential lapses, the client leaves or the stream has lasted long enough. */
async function pushUpdates(deps: StreamsDeps, stream: SSEStreamingApi, ref: JobRef, slot: Slot, credential: StreamCredential, isDetailed: boolean): Promise<void> {
  const started = deps.now();
  let sentVersion = -1;
  let [lastWriteMs, renewedMs, checkedMs] = [started, started, started];
  while (!stream.aborted && deps.now() - started < (deps.streams?.maxStreamMs ?? STREAMS.maxStreamMs)) {
    if (deps.now() - checkedMs >= (deps.streams?.recheckMs ?? CREDENTIAL_RECHECK_MS)) {
      const lapsed = await credential.recheck();
      if (lapsed !== null) {
        const message = refusalMessage(lapsed === "token_expired" ? "expired" : lapsed).replace("token refused: ", "stream closed: ");
        await stream.writeSSE({ event: "error", data: JSON.stringify({ code: wireError(lapsed).websocket, message }) });
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
    if (deps.now() - lastWriteMs > KEEP_ALIVE_MS) {
      await stream.write(": keep-alive\n\n");
      lastWriteMs = deps.now();
    }
    await stream.sleep(deps.streams?.pollMs ?? STREAMS.pollMs);
  }
  await stream.writeSSE({ data: "", retry: 1000 });
}

/** Mounted at `/v1/jobs/:id/stream`. */
export function createStreamApp(deps: StreamsDeps): Hono<ApiEnv> {
  const app = new Hono<ApiEnv>();
  const tokenKeys = tokenKeysOf(deps.tokenSecret);

  app.get("/", async (c) => {
    const jobId = c.req.param("id")!;
    const credential = await credentialOf(deps, tokenKeys, c, jobId);
    const ref = { tenant: credential.tenant, jobId };
    c.set("tenant", credential.tenant);
    if ((await deps.store.loadForBatch(ref, [])) === null) throw jobNotFound(jobId);
    const slot = await takeSlot(deps, c, credential, jobId);
    const isDetailed = c.req.query("detail") === "true";
    return streamSSE(c, async (stream) => {
      try {
        await pushUpdates(deps, stream, ref, slot, credential, isDetailed);
      } finally {
        await deps.streamSlots.release(slot.holder, slot.keys).catch((error: unknown) => deps.log("warn", "stream slot not released (it lapses)", { error: String(error) }));
      }
    });
  });

  return app;
}
