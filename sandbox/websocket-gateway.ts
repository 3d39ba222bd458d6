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
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { WebSocketServer, type WebSocket } from "ws";
import type { Log, LogLevel } from "../functions/config.ts";
import type { WebSocketEvent, WebSocketResult } from "../functions/ws.ts";
import { isServerThread, serveOnThread, startServerThread } from "./server-thread.ts";

const MAX_FRAME_BYTES = 128 * 1024;

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

/** The gateway itself, on its thread: `invoke` runs a route on the owner's thread. */
async function serveGateway(options: {
  port: number;
  routes: string[];
  invoke: (event: WebSocketEvent) => Promise<WebSocketResult>;
  log: Log;
  countPost: () => void;
}): Promise<{ port: number; dropAll(): number; close(): Promise<void> }> {
  const sockets = new Map<string, { socket: WebSocket; connectedAt: number; lastActiveAt: number }>();
  let isClosing = false;
  const routes = new Set(options.routes);
  const { invoke } = options;
  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_FRAME_BYTES });

  const server = createServer((request, response) => {
    void manage(request, response);
  });

  async function manage(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const match = /\/@connections\/([^/?]+)/.exec(request.url ?? "");
    if (match === null) {
      response.writeHead(404).end();
      return;
    }
    const connectionId = decodeURIComponent(match[1]!);
    const entry = sockets.get(connectionId);
    // Events rather than `for await`: this runs for every frame of a fan-out tick.
    const chunks: Buffer[] = [];
    await new Promise<void>((resolve, reject) => {
      request.on("data", (chunk: Buffer) => chunks.push(chunk));
      request.once("end", resolve);
      request.once("error", reject);
    });
    if (entry === undefined) {
      response.writeHead(410, { "content-type": "application/json", "x-amzn-errortype": "GoneException" }).end(JSON.stringify({ message: `connection ${connectionId} is gone` }));
      return;
    }
    if (request.method === "POST") {
      const data = Buffer.concat(chunks);
      if (data.length > MAX_FRAME_BYTES) {
        response.writeHead(413, { "content-type": "application/json", "x-amzn-errortype": "PayloadTooLargeException" }).end(JSON.stringify({ message: "frames are limited to 128 KB" }));
        return;
      }
      options.countPost();
      entry.socket.send(data, { binary: false });
      entry.lastActiveAt = Date.now();
      response.writeHead(200).end();
    } else if (request.method === "GET") {
      response.writeHead(200, { "content-type": "application/json" }).end(
        JSON.stringify({ ConnectedAt: new Date(entry.connectedAt).toISOString(), LastActiveAt: new Date(entry.lastActiveAt).toISOString(), Identity: { SourceIp: "127.0.0.1" } }),
      );
    } else if (request.method === "DELETE") {
      entry.socket.close(1000);
      response.writeHead(204).end();
    } else {
      response.writeHead(405).end();
    }
  }

  server.on("upgrade", (request, socket, head) => {
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
        sockets.set(connectionId, { socket: ws, connectedAt: now, lastActiveAt: now });
        ws.on("message", (data) => {
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
        ws.on("close", () => {
          sockets.delete(connectionId);
          if (!isClosing) void invoke({ requestContext: { connectionId, routeKey: "$disconnect" } });
        });
      });
    })();
  });

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, "127.0.0.1", () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    dropAll() {
      const count = sockets.size;
      for (const { socket } of sockets.values()) socket.terminate();
      return count;
    },
    async close() {
      isClosing = true;
      for (const { socket } of sockets.values()) socket.terminate();
      wss.close();
      server.closeAllConnections();
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
