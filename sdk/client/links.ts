/**
 * The subscriber's two kinds of connection, each opened by a function that owns its timers and
 * reports what happens to it: one WebSocket for every job, or one SSE update stream per job.
 * Web globals only (see index.ts): no Node module is imported here.
 */
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

const OPEN = 1;

export interface SocketLink {
  send(message: Record<string, unknown>): void;
  close(code?: number): void;
  /** The server answered a ping. */
  notePong(): void;
}

export interface SocketEvents {
  onOpen(): void;
  onText(text: string): void;
  /** The socket closed; `hadOpened` tells a dropped connection from one that never came up. */
  onClose(hadOpened: boolean): void;
}

/** One WebSocket: pings it every `pingIntervalMs` and closes it when a ping goes unanswered. */
export function openSocket(WebSocketImpl: WebSocketConstructor, url: string, pingIntervalMs: number, events: SocketEvents): SocketLink {
  const ws = new WebSocketImpl(url);
  let hasOpened = false;
  let isAwaitingPong = false;
  let isDone = false;
  let pingTimer: ReturnType<typeof setInterval> | undefined;
  const send = (message: Record<string, unknown>) => {
    if (ws.readyState === OPEN) ws.send(JSON.stringify(message));
  };
  ws.onopen = () => {
    hasOpened = true;
    pingTimer = setInterval(() => {
      // No answer to the last ping: the connection is dead without having said so.
      if (isAwaitingPong) return ws.close();
      isAwaitingPong = true;
      send({ action: "ping" });
    }, pingIntervalMs);
    events.onOpen();
  };
  ws.onmessage = (event) => {
    if (!isDone && typeof event.data === "string") events.onText(event.data);
  };
  ws.onerror = () => {};
  ws.onclose = () => {
    clearInterval(pingTimer);
    if (isDone) return;
    isDone = true;
    events.onClose(hasOpened);
  };
  return {
    send,
    close(code) {
      clearInterval(pingTimer);
      isDone = true;
      ws.close(code);
    },
    notePong() {
      isAwaitingPong = false;
    },
  };
}

export interface StreamEvents {
  onOpen(): void;
  onData(data: unknown, isFinal: boolean): void;
  /** The server ended the stream after the job's end (`assembly_finished`). */
  onEnd(): void;
  /** The stream failed; `hadOpened` tells a dropped stream from one that never came up. */
  onError(hadOpened: boolean): void;
}

/** One job's update stream. EventSource would retry by itself with the same URL (and token): this closes it instead, for the caller to decide. */
export function openStream(EventSourceImpl: EventSourceConstructor, url: string, events: StreamEvents): { close(): void } {
  const stream: EventSourceLike = new EventSourceImpl(url);
  let hasOpened = false;
  let isDone = false;
  const finish = () => {
    isDone = true;
    stream.close();
  };
  const onData = (isFinal: boolean) => (event: { data?: unknown }) => {
    if (isDone) return;
    hasOpened = true;
    events.onData(parseJson(event.data), isFinal);
  };
  stream.addEventListener("open", () => {
    if (isDone) return;
    hasOpened = true;
    events.onOpen();
  });
  stream.addEventListener("assembly_execution_progress", onData(false));
  stream.addEventListener("job_finished", onData(true));
  stream.addEventListener("message", (event) => {
    // The unnamed `assembly_finished` ends the stream: the job is over, and the server closes it.
    if (!isDone && event.data === "assembly_finished") {
      finish();
      events.onEnd();
    }
  });
  stream.onerror = () => {
    if (isDone) return;
    finish();
    events.onError(hasOpened);
  };
  return { close: finish };
}

let eventSourceImpl: Promise<EventSourceConstructor> | undefined;

/** The EventSource to use: the one given, the global one, or (Node has none yet) the `eventsource` package's. */
export function loadEventSource(given?: EventSourceConstructor): Promise<EventSourceConstructor> {
  const global = given ?? (globalThis as { EventSource?: EventSourceConstructor }).EventSource;
  if (global !== undefined) return Promise.resolve(global);
  eventSourceImpl ??= import("eventsource").then((module) => module.EventSource as unknown as EventSourceConstructor);
  return eventSourceImpl;
}

export function parseJson(text: unknown): unknown {
  if (typeof text !== "string") return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
