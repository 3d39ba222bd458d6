/**
 * Headway's subscriber client, one module for the browser and Node: watch jobs over the WebSocket
 * API and get each job's whole, latest snapshot, whatever the connection does. It reconnects with
 * jittered exponential backoff, subscribes again after a reconnect, refreshes the token through
 * `getToken` (before it expires, and after a connection that never opened), merges `files_page`
 * pages, drops repeats and stale frames by `version`, falls back to the SSE update stream when
 * WebSocket is missing or keeps failing, and goes back to WebSocket once it works again. It asks
 * the server for every change of the jobs it watches (a detail subscription), so a job created
 * without `emit_execution_progress` is live too. Frames are parsed with the server's own zod
 * schemas (core/contract/realtime.ts); frames it does not know are skipped.
 *
 * It must never import Node modules: it uses the web globals only (`WebSocket`, `EventSource`,
 * `setTimeout`, `atob`), and loads the `eventsource` package only where no `EventSource` exists.
 */
import { FrameSnapshot, JobEvent, ServerFrame, type RequestId } from "../../core/contract/realtime.ts";
import { loadEventSource, openSocket, openStream, parseJson, type EventSourceConstructor, type SocketLink, type WebSocketConstructor } from "./links.ts";
import { emptyMerge, isWhole, mergeSnapshot, type JobSnapshot, type MergedJob } from "./merge.ts";
import { backoff, tokenSource, type TokenSource } from "./tokens.ts";

export type { JobSnapshot } from "./merge.ts";
export type { EventSourceConstructor, EventSourceLike, WebSocketConstructor, WebSocketLike } from "./links.ts";
export { expiresWithin } from "./tokens.ts";

export type Transport = "websocket" | "sse";
export type ConnectionState = "connecting" | "open" | "reconnecting" | "closed";

export interface SubscriberOptions {
  /** The WebSocket API's URL (`websocket_url` of `POST /v1/jobs`); null or absent: SSE only. */
  websocketUrl?: string | null;
  /** The HTTP API's base URL (e.g. `https://api.example.com`), for the SSE fallback. */
  httpUrl?: string | null;
  /** A subscriber token; or `getToken`, called for a fresh one whenever it is needed. */
  token?: string;
  getToken?: () => Promise<string>;
  /** `auto` (default): WebSocket, then SSE if WebSocket is missing or fails `sseAfterFailures` times in a row, then WebSocket again once it works. */
  transport?: "auto" | Transport;
  /** Connections in a row that never opened before `auto` moves to SSE (default 4). */
  sseAfterFailures?: number;
  /** Reconnect delays: `initialDelayMs · 2^n`, capped at `maxDelayMs`, each drawn at random between half and all of it. */
  reconnect?: { initialDelayMs?: number; maxDelayMs?: number };
  /** On SSE after a fallback, `auto` tries WebSocket again after this long, then at doubling intervals up to 5 minutes (default 30 s). */
  websocketRetryMs?: number;
  /** A token expiring within this many ms is refreshed before it is used (default 60 s). */
  refreshBeforeExpiryMs?: number;
  /** A ping this often keeps the connection alive (API Gateway closes idle ones after 10 min) and finds dead ones (default 5 min). */
  pingIntervalMs?: number;
  onStateChange?: (state: ConnectionState, transport: Transport | null) => void;
  /** Problems not tied to one job (a `getToken` that threw, a fallback that cannot start). */
  onError?: (error: SubscriberError) => void;
  /** Implementations to use instead of the globals (tests, or `ws` on an old Node). */
  WebSocket?: WebSocketConstructor;
  EventSource?: EventSourceConstructor;
  random?: () => number;
}

export interface WatchOptions {
  /**
   * Hand this watch the in-flight executions too (`snapshot.detail`: the 100 most recently
   * reported, each with its `at`, and `in_flight_total`). Every watch gets every change of the
   * job either way; without this, its snapshots leave the detail out.
   */
  detail?: boolean;
  /** Once per final version, with the whole final snapshot. */
  onFinished?: (snapshot: JobSnapshot) => void;
  /** The server refused a request about this job (`forbidden`, `not_found`, …). */
  onError?: (error: SubscriberError) => void;
}

export interface Subscriber {
  /** Watches a job; returns a function that stops this watch (the job stays watched while other watches of it remain). */
  subscribe(jobId: string, onSnapshot: (snapshot: JobSnapshot) => void, options?: WatchOptions): () => void;
  /** Stops every watch of the job. */
  unsubscribe(jobId: string): void;
  close(): void;
  readonly state: ConnectionState;
  readonly transport: Transport | null;
}

/** An error the server sent (its `code`), or one of the client's own (`token`, `transport`). */
export class SubscriberError extends Error {
  readonly code: string;
  readonly jobId: string | null;
  constructor(code: string, message: string, jobId: string | null = null, options: { cause?: unknown } = {}) {
    super(message, options);
    this.name = "SubscriberError";
    this.code = code;
    this.jobId = jobId;
  }
}

interface Watch {
  onSnapshot: (snapshot: JobSnapshot) => void;
  options: WatchOptions;
}

interface WatchedJob {
  jobId: string;
  watches: Set<Watch>;
  merged: MergedJob;
  /** The final version `onFinished` went out for (-1: none yet). */
  finishedVersion: number;
  /** The final version a fresh subscribe was asked for to complete a paged list (-1: none). */
  refetchedVersion: number;
  /** The job's SSE stream, while SSE is the transport. */
  stream: { close(): void } | null;
}

/** What the two transports share: the watched jobs, the token, the connection's state, and how snapshots reach the watches. */
interface Context {
  options: SubscriberOptions;
  jobs: Map<string, WatchedJob>;
  tokens: TokenSource;
  transport: Transport;
  isClosed: boolean;
  canUseSse: boolean;
  canUseWebSocket: boolean;
  setState(state: ConnectionState): void;
  reportError(error: SubscriberError): void;
  /** Applies a job's snapshot from either transport and tells its watches; `refetch` completes a paged final snapshot. */
  receive(job: WatchedJob, data: FrameSnapshot, isFinal: boolean, refetch?: (job: WatchedJob) => void): void;
  delays(): { nextMs(): number; reset(): void };
}

export function createSubscriber(options: SubscriberOptions): Subscriber {
  if (options.token === undefined && options.getToken === undefined) throw new SubscriberError("token", "give a subscriber token or getToken");
  const WebSocketImpl = options.WebSocket ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
  const canUseSse = typeof options.httpUrl === "string" && options.httpUrl !== "";
  const canUseWebSocket = WebSocketImpl !== undefined && typeof options.websocketUrl === "string" && options.websocketUrl !== "";
  if (options.transport === "websocket" && !canUseWebSocket) throw new SubscriberError("transport", "transport websocket needs websocketUrl and a WebSocket implementation");
  if (options.transport === "sse" && !canUseSse) throw new SubscriberError("transport", "transport sse needs httpUrl");

  const random = options.random ?? Math.random;
  let state: ConnectionState = "connecting";
  /** The transport last reported with a state: a switch of transport is news even when the state stays `open`. */
  let reportedTransport: Transport | null = null;
  const ctx: Context = {
    options,
    jobs: new Map(),
    tokens: tokenSource({ token: options.token, getToken: options.getToken, refreshBeforeExpiryMs: options.refreshBeforeExpiryMs ?? 60_000 }),
    transport: options.transport === "sse" || (options.transport !== "websocket" && !canUseWebSocket) ? "sse" : "websocket",
    isClosed: false,
    canUseSse,
    canUseWebSocket,
    setState(next) {
      const transport = ctx.isClosed ? null : ctx.transport;
      if (next === state && transport === reportedTransport) return;
      state = next;
      reportedTransport = transport;
      options.onStateChange?.(next, transport);
    },
    reportError: (error) => options.onError?.(error),
    receive: (job, data, isFinal, refetch) => receive(job, data, isFinal, refetch),
    delays: () => backoff(options.reconnect?.initialDelayMs ?? 500, options.reconnect?.maxDelayMs ?? 30_000, random),
  };
  const sse = createSseSide(ctx);
  const socket = createWebSocketSide(ctx, WebSocketImpl, sse);
  let isStarted = false;

  function forget(job: WatchedJob): void {
    ctx.jobs.delete(job.jobId);
    job.stream?.close();
    job.stream = null;
    if (ctx.transport === "websocket") socket.unsubscribe(job);
  }

  return {
    subscribe(jobId, onSnapshot, watchOptions = {}) {
      if (ctx.isClosed) throw new SubscriberError("closed", "this subscriber was closed");
      const watch: Watch = { onSnapshot, options: watchOptions };
      let job = ctx.jobs.get(jobId);
      const isNew = job === undefined;
      if (job === undefined) {
        job = { jobId, watches: new Set(), merged: emptyMerge(), finishedVersion: -1, refetchedVersion: -1, stream: null };
        ctx.jobs.set(jobId, job);
      }
      job.watches.add(watch);
      // Connections start on the first watch, not at construction.
      if (!isStarted) {
        isStarted = true;
        if (ctx.transport === "websocket") void socket.connect();
      }
      if (isNew) {
        if (ctx.transport === "sse") void sse.open(job);
        else socket.subscribe(job);
      }
      // A later watch of a job already seen starts from what is known.
      if (!isNew && job.merged.snapshot !== null) onSnapshot(viewFor(watch, job.merged.snapshot));
      const watched = job;
      return () => {
        watched.watches.delete(watch);
        if (watched.watches.size === 0 && ctx.jobs.get(jobId) === watched) forget(watched);
      };
    },
    unsubscribe(jobId) {
      const job = ctx.jobs.get(jobId);
      if (job !== undefined) forget(job);
    },
    close() {
      if (ctx.isClosed) return;
      ctx.isClosed = true;
      socket.close();
      sse.closeAll();
      ctx.jobs.clear();
      ctx.setState("closed");
    },
    get state() {
      return state;
    },
    get transport() {
      return ctx.isClosed ? null : ctx.transport;
    },
  };
}

/** A watch's view of a snapshot: the in-flight detail only for a watch that asked for it. */
function viewFor(watch: Watch, snapshot: JobSnapshot): JobSnapshot {
  if (watch.options.detail === true || snapshot.detail === undefined) return snapshot;
  const { detail: _detail, ...rest } = snapshot;
  return rest;
}

function receive(job: WatchedJob, data: FrameSnapshot, isFinal: boolean, refetch?: (job: WatchedJob) => void): void {
  const snapshot = mergeSnapshot(job.merged, data);
  if (snapshot !== null) for (const watch of [...job.watches]) watch.onSnapshot(viewFor(watch, snapshot));
  if (!isFinal || job.merged.version <= job.finishedVersion || job.merged.snapshot === null) return;
  if (isWhole(job.merged)) {
    job.finishedVersion = job.merged.version;
    for (const watch of [...job.watches]) watch.options.onFinished?.(viewFor(watch, job.merged.snapshot));
  } else if (refetch !== undefined && job.refetchedVersion < job.merged.version) {
    job.refetchedVersion = job.merged.version;
    refetch(job);
  }
}

// ------------------------------------------------------------ WebSocket

function createWebSocketSide(ctx: Context, WebSocketImpl: WebSocketConstructor | undefined, sse: ReturnType<typeof createSseSide>) {
  const retry = ctx.delays();
  const retryWebSocket = backoff(ctx.options.websocketRetryMs ?? 30_000, 5 * 60_000, ctx.options.random ?? Math.random);
  const sseAfterFailures = ctx.options.sseAfterFailures ?? 4;
  const pingIntervalMs = ctx.options.pingIntervalMs ?? 5 * 60_000;
  let link: SocketLink | null = null;
  let failuresInARow = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let nextRequest = 0;
  /** Requests awaiting their answer: the job each is about, and what to do once it is answered. */
  const requests = new Map<RequestId, { jobId: string; then?: () => void }>();
  const send = (message: Record<string, unknown>) => link?.send(message);

  function subscribe(job: WatchedJob): void {
    const id = `r${++nextRequest}`;
    requests.set(id, { jobId: job.jobId });
    // Every change of the job comes to a detail subscription, whatever the job's emit_execution_progress.
    send({ action: "subscribe", job_id: job.jobId, id, detail: true });
  }

  /** A ticker's frame carries one page of a large job's list; a fresh subscribe is answered with all of them. */
  function refetch(job: WatchedJob): void {
    // Routes may run concurrently, so the subscribe waits for the unsubscribe's answer.
    const id = `r${++nextRequest}`;
    requests.set(id, { jobId: job.jobId, then: () => ctx.jobs.get(job.jobId) === job && subscribe(job) });
    send({ action: "unsubscribe", job_id: job.jobId, id });
  }

  async function connect(): Promise<void> {
    let url: string;
    try {
      const token = await ctx.tokens.current();
      url = `${ctx.options.websocketUrl}${ctx.options.websocketUrl!.includes("?") ? "&" : "?"}token=${encodeURIComponent(token)}`;
    } catch (error) {
      ctx.reportError(new SubscriberError("token", `getToken failed: ${String(error)}`, null, { cause: error }));
      return afterClose(false);
    }
    if (ctx.isClosed) return;
    const opened = openSocket(WebSocketImpl!, url, pingIntervalMs, {
      onOpen: () => {
        failuresInARow = 0;
        retry.reset();
        retryWebSocket.reset();
        requests.clear();
        // Back from a fallback: the socket takes over from the streams (a subscribe is answered with the current snapshot).
        if (ctx.transport === "sse") sse.closeAll();
        ctx.transport = "websocket";
        ctx.setState("open");
        for (const job of ctx.jobs.values()) subscribe(job);
      },
      onText: (text) => {
        if (link === opened) routeFrames(text);
      },
      onClose: (hadOpened) => {
        if (link !== opened) return;
        link = null;
        afterClose(hadOpened);
      },
    });
    link = opened;
  }

  function afterClose(hadOpened: boolean): void {
    if (ctx.isClosed) return;
    clearTimeout(timer);
    if (ctx.transport === "sse") {
      // A try at WebSocket while on SSE failed: stay on SSE, try again later.
      timer = setTimeout(() => void connect(), retryWebSocket.nextMs());
      return;
    }
    if (!hadOpened) {
      failuresInARow++;
      // A browser cannot tell a refused token from a network failure: get a fresh one either way.
      ctx.tokens.suspect();
    }
    if (ctx.options.transport !== "websocket" && ctx.canUseSse && failuresInARow >= sseAfterFailures) return fallBackToSse();
    ctx.setState("reconnecting");
    timer = setTimeout(() => void connect(), retry.nextMs());
  }

  function fallBackToSse(): void {
    ctx.transport = "sse";
    failuresInARow = 0;
    sse.openAll();
    // `auto` tries WebSocket again later (a short outage should not keep a client on SSE for good).
    if (ctx.options.transport !== "sse") timer = setTimeout(() => void connect(), retryWebSocket.nextMs());
  }

  function routeFrames(text: string): void {
    for (const frame of decodeFrames(text)) {
      switch (frame.event) {
        case "assembly_execution_progress":
        case "job_finished": {
          const job = ctx.jobs.get(frame.job_id);
          if (job !== undefined) ctx.receive(job, frame.data, frame.event === "job_finished", refetch);
          break;
        }
        case "pong":
          link?.notePong();
          break;
        case "subscribed":
        case "unsubscribed": {
          const request = frame.id === undefined ? undefined : requests.get(frame.id);
          if (frame.id !== undefined) requests.delete(frame.id);
          request?.then?.();
          break;
        }
        case "error":
          onErrorFrame(frame);
          break;
        case "batch":
          break;
        default: {
          const _never: never = frame;
          void _never;
        }
      }
    }
  }

  function onErrorFrame(frame: { code: string; message: string; id?: RequestId | undefined }): void {
    const jobId = frame.id === undefined ? undefined : requests.get(frame.id)?.jobId;
    if (frame.id !== undefined) requests.delete(frame.id);
    const error = new SubscriberError(frame.code, frame.message, jobId ?? null);
    const job = jobId === undefined ? undefined : ctx.jobs.get(jobId);
    if (job !== undefined) for (const watch of [...job.watches]) watch.options.onError?.(error);
    else ctx.reportError(error);
    // The server lost this connection's registration: only a new connection helps.
    if (frame.code === "unknown_connection") link?.close();
  }

  return {
    connect,
    subscribe,
    unsubscribe: (job: WatchedJob) => send({ action: "unsubscribe", job_id: job.jobId }),
    close() {
      clearTimeout(timer);
      link?.close(1000);
      link = null;
    },
  };
}

// ------------------------------------------------------------ SSE

function createSseSide(ctx: Context) {
  const retry = ctx.delays();
  const timers = new Set<ReturnType<typeof setTimeout>>();

  async function open(job: WatchedJob): Promise<void> {
    if (!ctx.canUseSse) return ctx.reportError(new SubscriberError("transport", "SSE needs httpUrl", job.jobId));
    let url: string;
    let EventSourceImpl: EventSourceConstructor;
    try {
      EventSourceImpl = await loadEventSource(ctx.options.EventSource);
      // The detail asks for every change of the job, whatever its emit_execution_progress (see WatchOptions.detail).
      url = `${ctx.options.httpUrl!.replace(/\/+$/, "")}/v1/jobs/${encodeURIComponent(job.jobId)}/stream?detail=true&token=${encodeURIComponent(await ctx.tokens.current())}`;
    } catch (error) {
      ctx.reportError(new SubscriberError("token", `could not open the update stream: ${String(error)}`, job.jobId, { cause: error }));
      return reopen(job, false);
    }
    if (ctx.isClosed || ctx.transport !== "sse" || ctx.jobs.get(job.jobId) !== job) return;
    const stream = openStream(EventSourceImpl, url, {
      onOpen: () => ctx.setState("open"),
      onData: (data, isFinal) => {
        retry.reset();
        ctx.setState("open");
        const parsed = FrameSnapshot.safeParse(data);
        if (parsed.success) ctx.receive(job, parsed.data, isFinal);
      },
      onEnd: () => {
        if (job.stream === stream) job.stream = null;
      },
      onError: (hadOpened) => {
        if (job.stream !== stream) return;
        job.stream = null;
        reopen(job, hadOpened);
      },
    });
    job.stream = stream;
  }

  function reopen(job: WatchedJob, hadOpened: boolean): void {
    if (ctx.isClosed || ctx.transport !== "sse" || ctx.jobs.get(job.jobId) !== job) return;
    if (!hadOpened) ctx.tokens.suspect();
    ctx.setState("reconnecting");
    const timer = setTimeout(() => {
      timers.delete(timer);
      void open(job);
    }, retry.nextMs());
    timers.add(timer);
  }

  return {
    open,
    openAll() {
      retry.reset();
      ctx.setState("connecting");
      for (const job of ctx.jobs.values()) void open(job);
    },
    closeAll() {
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      for (const job of ctx.jobs.values()) {
        job.stream?.close();
        job.stream = null;
      }
    },
  };
}

/**
 * The frames of one WebSocket message that this client knows, a `batch` flattened into its
 * events; anything else (not JSON, an unknown event, an unknown entry of a batch) is skipped.
 */
export function decodeFrames(text: string): (ServerFrame | (JobEvent & { v?: 1 }))[] {
  const json = parseJson(text);
  const parsed = ServerFrame.safeParse(json);
  if (parsed.success) return parsed.data.event === "batch" ? parsed.data.events : [parsed.data];
  // One entry this client does not know must not cost it the batch's others.
  const events = (json as { event?: unknown; events?: unknown } | null)?.event === "batch" ? (json as { events?: unknown }).events : undefined;
  if (!Array.isArray(events)) return [];
  return events.flatMap((event) => {
    const entry = JobEvent.safeParse(event);
    return entry.success ? [entry.data] : [];
  });
}
