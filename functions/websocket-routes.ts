/**
 * The WebSocket API's routes (docs/realtime.md), one handler for all of them, dispatched on the route
 * key: `$connect` checks the subscriber token (its query parameter never reaches a log line) and
 * that the API key that minted it is not revoked,
 * `subscribe` / `unsubscribe` / `ping` answer on the connection, `$default` answers a malformed
 * frame with an `error` event, `$disconnect` forgets the connection. The connection stays up
 * after any error; an answer carries the request's `id` when it had one. Subscribing registers
 * the subscriber before it reads the snapshot, so a job that changes (or finishes) in between is
 * pushed by the next tick rather than missed.
 */
import { ClientMessage, requestIdOf, type RequestId, type ServerFrame } from "../core/contract/realtime.ts";
import { eventPages, jobEventFor } from "../core/delivery/frames.ts";
import { describeIssues, issuesOf } from "../core/contract/issues.ts";
import { type ErrorCode } from "../core/errors.ts";
import type { ApiKeyStore, Connection, Connections, JobStore, Poster, Subscriptions } from "../core/ports.ts";
import { renderInFlight, renderSnapshot } from "../core/estimator/index.ts";
import { refusalMessage, tokenKeysOf, verifyToken } from "../core/access/token.ts";
import { type Log } from "./config.ts";
import { wireError } from "./errors.ts";

export interface WebSocketEvent {
  requestContext: { connectionId: string; routeKey: string };
  queryStringParameters?: Record<string, string | undefined> | null;
  body?: string | null;
}

export interface WebSocketResult {
  statusCode: number;
  body?: string;
}

export interface WsDeps {
  connections: Connections;
  subscriptions: Subscriptions;
  store: JobStore;
  poster: Poster;
  /** Whether the key that minted a token still stands (within the key cache's window). */
  apiKeys: Pick<ApiKeyStore, "isActive">;
  /** The subscriber-token signing secrets as configured (the newest first). */
  tokenSecret: string;
  now: () => number;
  log: Log;
}

const OK: WebSocketResult = { statusCode: 200 };

export function createWsHandler(deps: WsDeps): (event: WebSocketEvent) => Promise<WebSocketResult> {
  const tokenKeys = tokenKeysOf(deps.tokenSecret);
  const send = (connectionId: string, frame: ServerFrame) => deps.poster.post(connectionId, frame);
  /** A request's own id goes back on its answer (and only when it sent one, so older clients see the frames they always did). */
  const echo = (id: RequestId | undefined) => (id === undefined ? {} : { id });
  const fail = async (connectionId: string, code: ErrorCode, message: string, id: RequestId | undefined) => {
    await send(connectionId, { v: 1, event: "error", code: wireError(code).websocket, message, ...echo(id) });
    return OK;
  };

  async function connect(event: WebSocketEvent): Promise<WebSocketResult> {
    const token = event.queryStringParameters?.token;
    if (token === undefined || token === "") return { statusCode: 401, body: "a subscriber token is required (?token=...)" };
    const check = verifyToken(token, tokenKeys, deps.now());
    const reason = !check.ok ? check.reason : (await deps.apiKeys.isActive(check.claims.tenant, check.claims.keyId)) ? null : "key_revoked";
    if (reason !== null || !check.ok) {
      deps.log("info", "websocket refused", { connection_id: event.requestContext.connectionId, reason });
      return { statusCode: 401, body: refusalMessage(reason!) };
    }
    const { tenant, jobIds, keyId, expiresAtMs } = check.claims;
    await deps.connections.put({ connectionId: event.requestContext.connectionId, tenant, scope: jobIds, connectedAtMs: deps.now(), keyId, tokenExpiresAtMs: expiresAtMs });
    return OK;
  }

  /** Why a registered connection may no longer be served (the sweep closes it within a minute; until then nothing new is served). */
  async function lapseOf(connection: Connection): Promise<"token_expired" | "key_revoked" | null> {
    if (connection.tokenExpiresAtMs <= deps.now()) return "token_expired";
    return (await deps.apiKeys.isActive(connection.tenant, connection.keyId)) ? null : "key_revoked";
  }

  async function message(event: WebSocketEvent): Promise<WebSocketResult> {
    const { connectionId } = event.requestContext;
    let json: unknown;
    try {
      json = JSON.parse(event.body ?? "");
    } catch {
      return fail(connectionId, "invalid_json", "frames are JSON objects with an `action`", undefined);
    }
    const parsed = ClientMessage.safeParse(json);
    if (!parsed.success) return fail(connectionId, "invalid_input", describeIssues(issuesOf(parsed.error)), requestIdOf(json));
    const request = parsed.data;
    if (request.action === "ping") {
      await send(connectionId, { v: 1, event: "pong", ...echo(request.id) });
      return OK;
    }
    const connection = await deps.connections.get(connectionId);
    if (connection === null) return fail(connectionId, "unknown_connection", "this connection is not registered; reconnect", request.id);
    if (request.action === "subscribe") {
      const lapse = await lapseOf(connection);
      if (lapse !== null) return fail(connectionId, lapse, `${refusalMessage(lapse === "token_expired" ? "expired" : lapse)}, and reconnect with it`, request.id);
    }
    if (!connection.scope.includes(request.job_id)) return fail(connectionId, "forbidden", `the token does not cover job ${request.job_id}`, request.id);
    const ref = { tenant: connection.tenant, jobId: request.job_id };
    if (request.action === "unsubscribe") {
      await deps.subscriptions.unsubscribe(connectionId, ref);
      await send(connectionId, { v: 1, event: "unsubscribed", job_id: request.job_id, ...echo(request.id) });
      return OK;
    }
    const head = await deps.store.loadForBatch(ref, []);
    if (head === null) return fail(connectionId, "job_not_found", `no job ${request.job_id}`, request.id);
    const isDetailed = request.detail === true;
    const { finishedVersion } = await deps.subscriptions.subscribe(connectionId, head.meta, { detail: isDetailed });
    await send(connectionId, { v: 1, event: "subscribed", job_id: request.job_id, ...echo(request.id) });
    // The current snapshot at once, under the same rules as the ticker's pushes, every page of it
    // (a ticker's frame carries one). While a write is in progress there is none to send: that
    // write announces the job, and the ticker pushes it.
    const job = await deps.store.loadJob(ref);
    if (job === null || job === "busy" || job.meta.incarnation !== head.meta.incarnation) return OK;
    const jobEvent = jobEventFor(renderSnapshot(job.state), job.state.emitExecutionProgress?.value ?? false, isDetailed);
    if (jobEvent === null || (jobEvent.event === "job_finished" && (finishedVersion ?? -1) >= job.state.version)) return OK;
    for (const page of eventPages(jobEvent, isDetailed ? renderInFlight(job.state) : undefined)) {
      if ((await send(connectionId, { v: 1, ...page })) !== "sent") return OK;
    }
    if (jobEvent.event === "job_finished") await deps.subscriptions.markFinishedSent(connectionId, job.meta, job.state.version);
    return OK;
  }

  return async (event) => {
    switch (event.requestContext.routeKey) {
      case "$connect":
        return connect(event);
      case "$disconnect":
        await deps.connections.remove(event.requestContext.connectionId);
        return OK;
      default:
        return message(event);
    }
  };
}
