/**
 * A local stand-in for an API Gateway WebSocket API, written by hand because no maintained
 * standalone library emulates one; kept to what Headway uses:
 * - `$connect` with the query string (a non-2xx answer refuses the upgrade), route selection on
 *   `$request.body.action` with `$default` for the rest, `$disconnect` when the socket closes;
 * - the `@connections/{id}` management endpoint (POST sends a frame, GET describes, DELETE closes;
 *   410 for a connection that is gone), so the real `@aws-sdk/client-apigatewaymanagementapi`
 *   client talks to it as to AWS.
 * Frames over 128 KB are refused as API Gateway refuses them. Query strings (which carry
 * subscriber tokens) are never logged.
 *
 * The gateway runs on a worker thread of its own, as API Gateway runs apart from the functions:
 * parsing the management requests and writing the frames of 10,000 sockets is a core's worth of
 * work in a fan-out tick. Route invocations cross to the caller's thread as messages.
 */
import { randomBytes } from "node:crypto";
import { createServer, STATUS_CODES, type IncomingMessage, type Server } from "node:http";
import { createServer as createNetServer, type AddressInfo, type Socket } from "node:net";
import type { Duplex } from "node:stream";
import { HTTPParser } from "http-parser-js";
import { WebSocketServer, type WebSocket } from "ws";
import type { Log, LogLevel } from "../functions/config.ts";
import type { WebSocketEvent, WebSocketResult } from "../functions/websocket-routes.ts";
import { isServerThread, serveOnThread, startServerThread } from "./server-thread.ts";

const MAX_FRAME_BYTES = 128 * 1024;

/** A management request's answer. */
interface Answer {
  status: number;
  headers?: Record<string, string>;
  body?: string;
}

function jsonAnswer(status: number, body: unknown, errorType?: string): Answer {
  return { status, headers: { "content-type": "application/json", ...(errorType === undefined ? {} : { "x-amzn-errortype": errorType }) }, body: JSON.stringify(body) };
}

/** The bytes of an answer; the plain 200 of a post is made once. */
function answerBytes({ status, headers = {}, body = "" }: Answer, keepsAlive: boolean): Buffer | string {
  if (status === 200 && body === "" && keepsAlive) return OK;
  let head = `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ""}\r\n`;
  for (const [name, value] of Object.entries(headers)) head += `${name}: ${value}\r\n`;
  // A 204 has no body and so no length.
  if (status !== 204) head += `content-length: ${Buffer.byteLength(body)}\r\n`;
  if (!keepsAlive) head += "connection: close\r\n";
  return `${head}\r\n${body}`;
}

const OK = Buffer.from("HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n");

/** Messages between the gateway's thread and the thread that runs the routes. */
type InvokeMessage = { type: "invoke"; id: number; event: WebSocketEvent };
type ResultMessage = { type: "result"; id: number; result: WebSocketResult };
type LogMessage = { type: "log"; level: LogLevel; message: string; fields: Record<string, unknown> | undefined };
/** A test's hook: cut every client's socket at once, as a network failure would. */
type DropMessage = { type: "drop"; id: number };
type DroppedMessage = { type: "dropped"; id: number; count: number };

export interface WebSocketGateway {
  /** `ws://127.0.0.1:<port>` for clients. */
  url: string;
  /** `http://127.0.0.1:<port>` for the management client. */
  managementEndpoint: string;
  /** Frames posted through the management endpoint since start (for benchmarks). */
  stats: { posts: number };
  /** Cuts every client connection at once (no close handshake, as a network failure would; `$disconnect` runs for each); resolves with how many. For tests. */
  dropAll(): Promise<number>;
  close(): Promise<void>;
}

export interface GatewayOptions {
  port: number;
  routes: string[];
  handler: (event: WebSocketEvent) => Promise<WebSocketResult>;
  log: Log;
}

/** Starts the gateway on its own thread; the route handler runs on the caller's. */
export async function startWebSocketGateway(options: GatewayOptions): Promise<WebSocketGateway> {
  const postCount = new Int32Array(new SharedArrayBuffer(4));
  const reply = (message: ResultMessage | DropMessage) => void starting.then((thread) => thread.send(message));
  const drops = new Map<number, (count: number) => void>();
  let nextDrop = 0;
  const starting = startServerThread(import.meta.url, { port: options.port, routes: options.routes, postCount }, (message) => {
    const { type } = message as InvokeMessage | LogMessage | DroppedMessage;
    if (type === "dropped") {
      const { id, count } = message as DroppedMessage;
      drops.get(id)?.(count);
      drops.delete(id);
      return;
    }
    if (type === "log") {
      const log = message as LogMessage;
      options.log(log.level, log.message, log.fields);
      return;
    }
    const { id, event } = message as InvokeMessage;
    void options.handler(event).then(
      (result) => reply({ type: "result", id, result }),
      (error: unknown) => {
        options.log("error", "websocket route failed", { route: event.requestContext.routeKey, connection_id: event.requestContext.connectionId, error: String(error) });
        reply({ type: "result", id, result: { statusCode: 500 } });
      },
    );
  });
  const thread = await starting;
  return {
    url: `ws://127.0.0.1:${thread.port}`,
    managementEndpoint: `http://127.0.0.1:${thread.port}`,
    stats: {
      get posts() {
        return Atomics.load(postCount, 0);
      },
    },
    dropAll: () =>
      new Promise<number>((resolve) => {
        const id = nextDrop++;
        drops.set(id, resolve);
        reply({ type: "drop", id });
      }),
    close: thread.close,
  };
}

type Invoke = (event: WebSocketEvent) => Promise<WebSocketResult>;

interface Connection {
  socket: WebSocket;
  connectedAt: number;
  lastActiveAt: number;
  userAgent: string;
}

/** The gateway's open connections by id; `forget` is the one way out of it. */
interface ConnectionTable {
  add(connectionId: string, connection: Connection): void;
  get(connectionId: string): Connection | undefined;
  has(connectionId: string): boolean;
  forget(connectionId: string): void;
  /** Cuts every socket (no close handshake); `$disconnect` runs for each. Answers how many. */
  terminateAll(): number;
  /** Cuts every socket without running `$disconnect`: the gateway is going away. */
  close(): void;
}

function createConnectionTable(invoke: Invoke): ConnectionTable {
  const connections = new Map<string, Connection>();
  let isClosing = false;
  const terminateAll = () => {
    const count = connections.size;
    for (const { socket } of connections.values()) socket.terminate();
    return count;
  };
  return {
    add: (connectionId, connection) => void connections.set(connectionId, connection),
    get: (connectionId) => connections.get(connectionId),
    has: (connectionId) => connections.has(connectionId),
    /**
     * Takes a connection out of the table and runs `$disconnect` for it, once, whichever comes
     * first: a DeleteConnection, the socket's close, or a management request that finds the socket
     * already closing. From then on every management request of it is a 410, as API Gateway's are
     * from the moment DeleteConnection returns.
     */
    forget(connectionId) {
      if (!connections.delete(connectionId)) return;
      if (!isClosing) void invoke({ requestContext: { connectionId, routeKey: "$disconnect" } });
    },
    terminateAll,
    close() {
      isClosing = true;
      terminateAll();
    },
  };
}

/**
 * One management request, answered at once: the frame goes out on the client's socket before
 * the answer, as API Gateway answers PostToConnection once it has taken the frame.
 */
function manage(connections: ConnectionTable, countPost: () => void, request: { method: string; url: string; body: Buffer; bodyBytes: number }): Answer {
  const { method, body, bodyBytes } = request;
  const match = /\/@connections\/([^/?]+)/.exec(request.url);
  if (match === null) return { status: 404 };
  let connectionId: string;
  try {
    connectionId = decodeURIComponent(match[1]!);
  } catch {
    return jsonAnswer(400, { message: "the connection id is not a valid URI component" }, "BadRequestException");
  }
  const entry = connections.get(connectionId);
  // A socket the client has begun to close is gone already, though its close event is still to come.
  if (entry !== undefined && entry.socket.readyState !== entry.socket.OPEN) connections.forget(connectionId);
  if (entry === undefined || !connections.has(connectionId)) return jsonAnswer(410, { message: `connection ${connectionId} is gone` }, "GoneException");
  if (method === "POST") {
    if (bodyBytes > MAX_FRAME_BYTES) return jsonAnswer(413, { message: "frames are limited to 128 KB" }, "PayloadTooLargeException");
    countPost();
    entry.socket.send(body, { binary: false });
    entry.lastActiveAt = Date.now();
    return { status: 200 };
  }
  if (method === "GET") {
    return jsonAnswer(200, { connectedAt: new Date(entry.connectedAt).toISOString(), lastActiveAt: new Date(entry.lastActiveAt).toISOString(), identity: { sourceIp: "127.0.0.1", userAgent: entry.userAgent } });
  }
  if (method === "DELETE") {
    connections.forget(connectionId);
    entry.socket.close(1000);
    return { status: 204 };
  }
  return { status: 405 };
}

/**
 * The management endpoint on a raw socket: http-parser-js reads the requests and the answers
 * are written as they are. Node's HTTP server (a request and a response object per request,
 * headers nobody reads) took about 70 µs of this thread per post, this about 45: a fan-out tick
 * is 10,000 posts (docs/performance.md).
 */
function serveManagement(socket: Socket, answer: (request: { method: string; url: string; body: Buffer; bodyBytes: number }) => Answer): void {
  const parser = new HTTPParser(HTTPParser.REQUEST);
  let method = "";
  let url = "";
  let keepsAlive = true;
  let chunks: Buffer[] = [];
  let bodyBytes = 0;
  /** The parser takes any Content-Length (a word becomes NaN); such a request is refused. */
  let isMalformed = false;
  parser[HTTPParser.kOnHeadersComplete] = (info) => {
    for (let i = 0; i < info.headers.length; i += 2) {
      if (info.headers[i]!.toLowerCase() === "content-length" && !/^\d+$/.test(info.headers[i + 1]!.trim())) isMalformed = true;
    }
    method = HTTPParser.methods[info.method] ?? "";
    url = info.url;
    keepsAlive = info.shouldKeepAlive;
    chunks = [];
    bodyBytes = 0;
  };
  parser[HTTPParser.kOnBody] = (chunk, offset, length) => {
    if (isMalformed) return;
    bodyBytes += length;
    // Past the limit only the count matters (the answer is 413). A view, not a copy: a socket's
    // chunks are not reused.
    if (bodyBytes <= MAX_FRAME_BYTES) chunks.push(chunk.subarray(offset, offset + length));
  };
  parser[HTTPParser.kOnMessageComplete] = () => {
    if (isMalformed) return;
    const body = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
    socket.write(answerBytes(answer({ method, url, body, bodyBytes }), keepsAlive));
    if (!keepsAlive) socket.end();
  };
  socket.on("data", (data: Buffer) => {
    const parsed = isMalformed ? undefined : parser.execute(data);
    if (isMalformed || parsed instanceof Error) {
      socket.removeAllListeners("data");
      socket.end(answerBytes({ status: 400 }, false));
    }
  });
  socket.on("error", () => socket.destroy());
}

/**
 * A WebSocket upgrade: `$connect` decides (a non-2xx answer refuses it), then each frame is routed
 * on its `action` (`$default` for the rest) and the socket's close runs `$disconnect`.
 */
function acceptUpgrade(
  { wss, connections, routes, invoke }: { wss: WebSocketServer; connections: ConnectionTable; routes: ReadonlySet<string>; invoke: Invoke },
  request: IncomingMessage,
  socket: Duplex,
  head: Buffer,
): void {
  void (async () => {
    const connectionId = randomBytes(12).toString("base64url");
    const query = Object.fromEntries(new URL(request.url ?? "/", "http://gateway").searchParams);
    const result = await invoke({ requestContext: { connectionId, routeKey: "$connect" }, queryStringParameters: query });
    if (result.statusCode < 200 || result.statusCode > 299) {
      const status = result.statusCode === 401 ? "401 Unauthorized" : result.statusCode === 500 ? "500 Internal Server Error" : "403 Forbidden";
      socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Type: text/plain\r\n\r\n${result.body ?? ""}`);
      return;
    }
    wss.handleUpgrade(request, socket, head, (ws) => {
      const now = Date.now();
      connections.add(connectionId, { socket: ws, connectedAt: now, lastActiveAt: now, userAgent: request.headers["user-agent"] ?? "" });
      ws.on("message", (data) => {
        // API Gateway routes nothing of a connection it has deleted.
        if (!connections.has(connectionId)) return;
        const body = data.toString();
        let action: unknown;
        try {
          action = (JSON.parse(body) as { action?: unknown } | null)?.action;
        } catch {
          action = undefined;
        }
        const routeKey = typeof action === "string" && routes.has(action) ? action : "$default";
        void invoke({ requestContext: { connectionId, routeKey }, body }).then((answer) => {
          if (answer.statusCode >= 500) ws.send(JSON.stringify({ message: "Internal server error", connectionId }));
        });
      });
      ws.on("close", () => connections.forget(connectionId));
    });
  })();
}

/**
 * One port for both, as API Gateway's host serves both: a request line naming `/@connections/`
 * goes to the management endpoint, anything else to Node's HTTP server (and its upgrades to `ws`).
 * `accepted` holds every socket, so that closing the gateway can end them all.
 */
function splitByRequestLine(management: (socket: Socket) => void, upgrades: Server, accepted: Set<Socket>) {
  return createNetServer((socket) => {
    accepted.add(socket);
    socket.once("close", () => accepted.delete(socket));
    let head: Buffer = Buffer.alloc(0);
    const sniff = (data: Buffer) => {
      head = Buffer.concat([head, data]);
      const lineEnd = head.indexOf("\r\n");
      if (lineEnd < 0 && head.length < 8192) return;
      socket.off("data", sniff);
      socket.pause();
      socket.unshift(head);
      if (head.toString("latin1", 0, lineEnd < 0 ? head.length : lineEnd).includes("/@connections/")) management(socket);
      else upgrades.emit("connection", socket);
      socket.resume();
    };
    socket.on("data", sniff);
  });
}

/** The gateway itself, on its thread: `invoke` runs a route on the owner's thread. */
async function serveGateway(options: {
  port: number;
  routes: string[];
  invoke: Invoke;
  log: Log;
  countPost: () => void;
}): Promise<{ port: number; dropAll(): number; close(): Promise<void> }> {
  const { invoke } = options;
  const connections = createConnectionTable(invoke);
  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_FRAME_BYTES });
  const upgrades = createServer((_request, response) => {
    response.writeHead(404).end();
  });
  const routes = new Set(options.routes);
  upgrades.on("upgrade", (request, socket, head) => acceptUpgrade({ wss, connections, routes, invoke }, request, socket, head));
  const accepted = new Set<Socket>();
  const server = splitByRequestLine((socket) => serveManagement(socket, (request) => manage(connections, options.countPost, request)), upgrades, accepted);

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, "127.0.0.1", () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    dropAll: () => connections.terminateAll(),
    async close() {
      connections.close();
      wss.close();
      for (const socket of accepted) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

if (isServerThread(import.meta.url)) {
  const waiting = new Map<number, (result: WebSocketResult) => void>();
  let gateway: { dropAll(): number } | undefined;
  let tellOwner: ((message: unknown) => void) | undefined;
  await serveOnThread<{ port: number; routes: string[]; postCount: Int32Array }>(
    async ({ port, routes, postCount }, tell) => {
      tellOwner = tell;
      let nextId = 0;
      const invoke = (event: WebSocketEvent) =>
        new Promise<WebSocketResult>((resolve) => {
          const id = nextId++;
          waiting.set(id, resolve);
          tell({ type: "invoke", id, event } satisfies InvokeMessage);
        });
      const log: Log = (level, message, fields) => tell({ type: "log", level, message, fields } satisfies LogMessage);
      const served = await serveGateway({ port, routes, invoke, log, countPost: () => Atomics.add(postCount, 0, 1) });
      gateway = served;
      return served;
    },
    (message) => {
      if ((message as DropMessage).type === "drop") {
        tellOwner?.({ type: "dropped", id: (message as DropMessage).id, count: gateway?.dropAll() ?? 0 } satisfies DroppedMessage);
        return;
      }
      const { id, result } = message as ResultMessage;
      waiting.get(id)?.(result);
      waiting.delete(id);
    },
  );
}
