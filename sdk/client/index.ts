/**
 * Headway's subscriber client, one module for the browser and Node: watch jobs over the WebSocket
 * API and get each job's whole, latest snapshot, whatever the connection does. It reconnects with
 * jittered exponential backoff, subscribes again after a reconnect, refreshes the token through
 * `getToken` (before it expires, and after a connection that never opened), merges `files_page`
 * pages, drops repeats and stale frames by `version`, and falls back to the SSE update stream when
 * WebSocket is missing or keeps failing. Frames are parsed with the server's own zod schemas
 * (core/realtime.ts); frames it does not know are skipped.
 *
 * It must never import Node modules: it uses the web globals only (`WebSocket`, `EventSource`,
 * `setTimeout`, `atob`), and loads the `eventsource` package only where no `EventSource` exists.
 */
import { FrameSnapshot, JobEvent, ServerFrame, type RequestId } from "../../core/contract/realtime.ts";
import { emptyMerge, isWhole, mergeSnapshot, type JobSnapshot, type MergedJob } from "./merge.ts";

export type { JobSnapshot } from "./merge.ts";

/** What a subscriber needs of a WebSocket (the browser's, Node's global one, or `ws`). */
export interface WebSocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: ((event: unknown) => void) | null;
  onmessage: ((event: { data: unknown }) => void) | null;
  onclose: ((event: unknown) => void) | null;
  onerror: ((event: unknown) => void) | null;
}
export type WebSocketConstructor = new (url: string) => WebSocketLike;

/** What a subscriber needs of an EventSource (the browser's, or the `eventsource` package's). */
export interface EventSourceLike {
  addEventListener(type: string, listener: (event: { data?: unknown }) => void): void;
  close(): void;
  onerror: ((event: unknown) => void) | null;
}
export type EventSourceConstructor = new (url: string) => EventSourceLike;

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
  /** `auto` (default): WebSocket, then SSE if WebSocket is missing or fails `sseAfterFailures` times in a row. */
  transport?: "auto" | Transport;
  /** Connections in a row that never opened before `auto` moves to SSE (default 4). */
  sseAfterFailures?: number;
  /** Reconnect delays: `initialDelayMs · 2^n`, capped at `maxDelayMs`, each drawn at random between half and all of it. */
  reconnect?: { initialDelayMs?: number; maxDelayMs?: number };
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
   * Ask for the in-flight executions in this job's frames (`snapshot.detail`: the 100 most recently
   * reported, each with its `at`, and `in_flight_total`), on WebSocket and SSE alike. The job is
   * then pushed whenever it changed, also while it has no combined figure (a job of commands).
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
  stream: EventSourceLike | null;
}

const OPEN = 1;

export function createSubscriber(options: SubscriberOptions): Subscriber {
  if (options.token === undefined && options.getToken === undefined) throw new SubscriberError("token", "give a subscriber token or getToken");
  const random = options.random ?? Math.random;
  const initialDelayMs = options.reconnect?.initialDelayMs ?? 500;
  const maxDelayMs = options.reconnect?.maxDelayMs ?? 30_000;
  const refreshBeforeExpiryMs = options.refreshBeforeExpiryMs ?? 60_000;
  const pingIntervalMs = options.pingIntervalMs ?? 5 * 60_000;
  const sseAfterFailures = options.sseAfterFailures ?? 4;
  const WebSocketImpl = options.WebSocket ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
  const canUseSse = typeof options.httpUrl === "string" && options.httpUrl !== "";
  const canUseWebSocket = WebSocketImpl !== undefined && typeof options.websocketUrl === "string" && options.websocketUrl !== "";

  if (options.transport === "websocket" && !canUseWebSocket) throw new SubscriberError("transport", "transport websocket needs websocketUrl and a WebSocket implementation");
  if (options.transport === "sse" && !canUseSse) throw new SubscriberError("transport", "transport sse needs httpUrl");
  const jobs = new Map<string, WatchedJob>();
  let transport: Transport | null = options.transport === "sse" || (options.transport !== "websocket" && !canUseWebSocket) ? "sse" : "websocket";
  let state: ConnectionState = "connecting";
  let isClosed = false;
  let token: string | null = options.token ?? null;
  let mustRefreshToken = false;
  let socket: WebSocketLike | null = null;
  let failuresInARow = 0;
  let attempt = 0;
  let reconnectTimer: ReturnType<typeof setTimeout> | undefined;
  let pingTimer: ReturnType<typeof setInterval> | undefined;
  const streamTimers = new Set<ReturnType<typeof setTimeout>>();
  let isAwaitingPong = false;
  let nextRequest = 0;
  /** Requests awaiting their answer: the job each is about, and what to do once it is answered. */
  const requests = new Map<RequestId, { jobId: string; then?: () => void }>();

  const setState = (next: ConnectionState) => {
    if (next === state) return;
    state = next;
    options.onStateChange?.(next, isClosed ? null : transport);
  };
  const reportError = (error: SubscriberError) => options.onError?.(error);

  // ------------------------------------------------------------ tokens

  async function currentToken(): Promise<string> {
    if (options.getToken !== undefined && (token === null || mustRefreshToken || expiresWithin(token, refreshBeforeExpiryMs))) {
      token = await options.getToken();
      mustRefreshToken = false;
    }
    return token!;
  }

  function backoffMs(): number {
    const ceiling = Math.min(maxDelayMs, initialDelayMs * 2 ** Math.min(attempt, 20));
    attempt++;
    return ceiling / 2 + (random() * ceiling) / 2;
  }

  // ------------------------------------------------------------ frames

  /** Applies a job's snapshot from either transport, and tells its watches. */
  function receive(job: WatchedJob, data: FrameSnapshot, isFinal: boolean): void {
    const snapshot = mergeSnapshot(job.merged, data);
    if (snapshot !== null) for (const watch of [...job.watches]) watch.onSnapshot(snapshot);
    if (!isFinal || job.merged.version <= job.finishedVersion || job.merged.snapshot === null) return;
    if (isWhole(job.merged)) {
      job.finishedVersion = job.merged.version;
      for (const watch of [...job.watches]) watch.options.onFinished?.(job.merged.snapshot);
    } else if (transport === "websocket" && job.refetchedVersion < job.merged.version) {
      // A ticker's frame carries one page of a large job's list; a fresh subscribe is answered
      // with all of them, so the final snapshot is whole rather than pieced from older versions.
      // (Routes may run concurrently, so the subscribe waits for the unsubscribe's answer.)
      job.refetchedVersion = job.merged.version;
      const id = `r${++nextRequest}`;
      requests.set(id, { jobId: job.jobId, then: () => jobs.get(job.jobId) === job && subscribeOnSocket(job) });
      send({ action: "unsubscribe", job_id: job.jobId, id });
    }
  }

  function onServerFrame(text: string): void {
    for (const frame of decodeFrames(text)) {
      switch (frame.event) {
        case "assembly_execution_progress":
        case "job_finished": {
          const job = jobs.get(frame.job_id);
          if (job !== undefined) receive(job, frame.data, frame.event === "job_finished");
          break;
        }
        case "pong":
          isAwaitingPong = false;
          break;
        case "subscribed":
        case "unsubscribed": {
          const request = frame.id === undefined ? undefined : requests.get(frame.id);
          if (frame.id !== undefined) requests.delete(frame.id);
          request?.then?.();
          break;
        }
        case "error": {
          const jobId = frame.id === undefined ? undefined : requests.get(frame.id)?.jobId;
          if (frame.id !== undefined) requests.delete(frame.id);
          const error = new SubscriberError(frame.code, frame.message, jobId ?? null);
          const job = jobId === undefined ? undefined : jobs.get(jobId);
          if (job !== undefined) for (const watch of [...job.watches]) watch.options.onError?.(error);
          else reportError(error);
          // The server lost this connection's registration: only a new connection helps.
          if (frame.code === "unknown_connection") socket?.close();
          break;
        }
        case "batch":
          break;
        default: {
          const _never: never = frame;
          void _never;
        }
      }
    }
  }

  // ------------------------------------------------------------ WebSocket

  function send(message: Record<string, unknown>): void {
    if (socket !== null && socket.readyState === OPEN) socket.send(JSON.stringify(message));
  }

  function subscribeOnSocket(job: WatchedJob): void {
    const id = `r${++nextRequest}`;
    requests.set(id, { jobId: job.jobId });
    const wantsDetail = [...job.watches].some((watch) => watch.options.detail === true);
    send({ action: "subscribe", job_id: job.jobId, id, ...(wantsDetail ? { detail: true } : {}) });
  }

  async function connectWebSocket(): Promise<void> {
    let url: string;
    try {
      const current = await currentToken();
      url = `${options.websocketUrl}${options.websocketUrl!.includes("?") ? "&" : "?"}token=${encodeURIComponent(current)}`;
    } catch (error) {
      reportError(new SubscriberError("token", `getToken failed: ${String(error)}`, null, { cause: error }));
      return scheduleReconnect(false);
    }
    if (isClosed) return;
    let hasOpened = false;
    const ws = new WebSocketImpl!(url);
    socket = ws;
    ws.onopen = () => {
      hasOpened = true;
      failuresInARow = 0;
      attempt = 0;
      setState("open");
      requests.clear();
      for (const job of jobs.values()) subscribeOnSocket(job);
      isAwaitingPong = false;
      pingTimer = setInterval(() => {
        // No answer to the last ping: the connection is dead without having said so.
        if (isAwaitingPong) return ws.close();
        isAwaitingPong = true;
        send({ action: "ping" });
      }, pingIntervalMs);
    };
    ws.onmessage = (event) => {
      if (socket === ws && typeof event.data === "string") onServerFrame(event.data);
    };
    ws.onerror = () => {};
    ws.onclose = () => {
      clearInterval(pingTimer);
      if (socket !== ws) return;
      socket = null;
      if (isClosed) return;
      scheduleReconnect(hasOpened);
    };
  }

  function scheduleReconnect(hadOpened: boolean): void {
    if (isClosed) return;
    if (!hadOpened) {
      failuresInARow++;
      // A browser cannot tell a refused token from a network failure: get a fresh one either way.
      mustRefreshToken = true;
    }
    if (options.transport !== "websocket" && canUseSse && failuresInARow >= sseAfterFailures) return switchToSse();
    setState("reconnecting");
    clearTimeout(reconnectTimer);
    reconnectTimer = setTimeout(() => void connectWebSocket(), backoffMs());
  }

  // ------------------------------------------------------------ SSE

  function switchToSse(): void {
    transport = "sse";
    attempt = 0;
    socket?.close();
    socket = null;
    setState("connecting");
    for (const job of jobs.values()) void openStream(job);
  }

  let eventSourceImpl: Promise<EventSourceConstructor> | undefined;
  function loadEventSource(): Promise<EventSourceConstructor> {
    const global = options.EventSource ?? (globalThis as { EventSource?: EventSourceConstructor }).EventSource;
    if (global !== undefined) return Promise.resolve(global);
    // Node has no EventSource of its own (yet); browsers never get here.
    eventSourceImpl ??= import("eventsource").then((module) => module.EventSource as unknown as EventSourceConstructor);
    return eventSourceImpl;
  }

  async function openStream(job: WatchedJob): Promise<void> {
    if (!canUseSse) return reportError(new SubscriberError("transport", "SSE needs httpUrl", job.jobId));
    let url: string;
    let EventSourceImpl: EventSourceConstructor;
    try {
      EventSourceImpl = await loadEventSource();
      const wantsDetail = [...job.watches].some((watch) => watch.options.detail === true);
      url = `${options.httpUrl!.replace(/\/+$/, "")}/v1/jobs/${encodeURIComponent(job.jobId)}/stream?${wantsDetail ? "detail=true&" : ""}token=${encodeURIComponent(await currentToken())}`;
    } catch (error) {
      reportError(new SubscriberError("token", `could not open the update stream: ${String(error)}`, job.jobId, { cause: error }));
      return reopenStream(job, false);
    }
    if (isClosed || jobs.get(job.jobId) !== job) return;
    let hasOpened = false;
    const stream = new EventSourceImpl(url);
    job.stream = stream;
    const onData = (isFinal: boolean) => (event: { data?: unknown }) => {
      hasOpened = true;
      attempt = 0;
      setState("open");
      const data = parseJson(event.data);
      const parsed = FrameSnapshot.safeParse(data);
      if (parsed.success) receive(job, parsed.data, isFinal);
    };
    stream.addEventListener("open", () => {
      hasOpened = true;
      setState("open");
    });
    stream.addEventListener("assembly_execution_progress", onData(false));
    stream.addEventListener("job_finished", onData(true));
    stream.addEventListener("message", (event) => {
      // The unnamed `assembly_finished` ends the stream: the job is over, and the server closes it.
      if (event.data === "assembly_finished" && job.stream === stream) {
        stream.close();
        job.stream = null;
      }
    });
    // EventSource would retry by itself with the same URL (and so the same token): take over.
    stream.onerror = () => {
      if (job.stream !== stream) return;
      stream.close();
      job.stream = null;
      reopenStream(job, hasOpened);
    };
  }

  function reopenStream(job: WatchedJob, hadOpened: boolean): void {
    if (isClosed || jobs.get(job.jobId) !== job) return;
    if (!hadOpened) mustRefreshToken = true;
    setState("reconnecting");
    const timer = setTimeout(() => {
      streamTimers.delete(timer);
      void openStream(job);
    }, backoffMs());
    streamTimers.add(timer);
  }

  // ------------------------------------------------------------ start

  function start(): void {
    if (transport === "websocket") void connectWebSocket();
  }
  // Connections start on the first watch, not at construction.
  let isStarted = false;

  function forget(job: WatchedJob): void {
    jobs.delete(job.jobId);
    job.stream?.close();
    job.stream = null;
    if (transport === "websocket") send({ action: "unsubscribe", job_id: job.jobId });
  }

  return {
    subscribe(jobId, onSnapshot, watchOptions = {}) {
      if (isClosed) throw new SubscriberError("closed", "this subscriber was closed");
      const watch: Watch = { onSnapshot, options: watchOptions };
      let job = jobs.get(jobId);
      const isNew = job === undefined;
      if (job === undefined) {
        job = { jobId, watches: new Set(), merged: emptyMerge(), finishedVersion: -1, refetchedVersion: -1, stream: null };
        jobs.set(jobId, job);
      }
      const wasDetailed = [...job.watches].some((other) => other.options.detail === true);
      job.watches.add(watch);
      if (!isStarted) {
        isStarted = true;
        start();
      }
      const addsDetail = watchOptions.detail === true && !wasDetailed;
      if (transport === "sse") {
        if (isNew) void openStream(job);
        else if (addsDetail && job.stream !== null) {
          // The stream in use carries no detail: open one that does.
          job.stream.close();
          job.stream = null;
          void openStream(job);
        }
      } else if (isNew || addsDetail) subscribeOnSocket(job);
      // A later watch of a job already seen starts from what is known.
      if (!isNew && job.merged.snapshot !== null) onSnapshot(job.merged.snapshot);
      const watched = job;
      return () => {
        watched.watches.delete(watch);
        if (watched.watches.size === 0 && jobs.get(jobId) === watched) forget(watched);
      };
    },
    unsubscribe(jobId) {
      const job = jobs.get(jobId);
      if (job !== undefined) forget(job);
    },
    close() {
      if (isClosed) return;
      isClosed = true;
      clearTimeout(reconnectTimer);
      clearInterval(pingTimer);
      for (const timer of streamTimers) clearTimeout(timer);
      socket?.close(1000);
      socket = null;
      for (const job of jobs.values()) job.stream?.close();
      jobs.clear();
      setState("closed");
    },
    get state() {
      return state;
    },
    get transport() {
      return isClosed ? null : transport;
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

function parseJson(text: unknown): unknown {
  if (typeof text !== "string") return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/**
 * Whether a Headway subscriber token expires within `marginMs`, read from its payload (the
 * server checks the signature; the client only needs the expiry). Other tokens: false.
 */
export function expiresWithin(token: string, marginMs: number, nowMs = Date.now()): boolean {
  try {
    const body = token.split(".")[0]!.replaceAll("-", "+").replaceAll("_", "/");
    const payload = JSON.parse(atob(body.padEnd(Math.ceil(body.length / 4) * 4, "="))) as { e?: unknown };
    return typeof payload.e === "number" && payload.e * 1000 - marginMs <= nowMs;
  } catch {
    return false;
  }
}
