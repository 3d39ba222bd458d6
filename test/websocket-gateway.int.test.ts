/**
 * The sandbox's stand-in for API Gateway, as the real management client and raw HTTP see it:
 * the `@connections` endpoint shares the WebSocket port (as it shares API Gateway's host), and its
 * hand-made HTTP answers must satisfy the SDK exactly as AWS's do.
 */
import { ApiGatewayManagementApiClient, DeleteConnectionCommand, GetConnectionCommand, GoneException, PayloadTooLargeException, PostToConnectionCommand } from "@aws-sdk/client-apigatewaymanagementapi";
import { connect as connectTcp } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { silentLog } from "../functions/config.ts";
import { startWebSocketGateway, type WebSocketGateway } from "../sandbox/websocket-gateway.ts";

let gateway: WebSocketGateway;
let client: ApiGatewayManagementApiClient;
/** Connection ids in the order `$connect` saw them. */
const connected: string[] = [];
/** How many times `$disconnect` ran for each connection id. */
const disconnects = new Map<string, number>();

beforeAll(async () => {
  gateway = await startWebSocketGateway({
    port: 0,
    routes: [],
    log: silentLog,
    handler: async (event) => {
      if (event.requestContext.routeKey === "$connect") connected.push(event.requestContext.connectionId);
      if (event.requestContext.routeKey === "$disconnect") disconnects.set(event.requestContext.connectionId, (disconnects.get(event.requestContext.connectionId) ?? 0) + 1);
      return { statusCode: 200 };
    },
  });
  client = new ApiGatewayManagementApiClient({ endpoint: gateway.managementEndpoint, region: "us-east-1", credentials: { accessKeyId: "test", secretAccessKey: "test" } });
});
afterAll(async () => {
  client?.destroy();
  await gateway?.close();
});

/** Opens a client socket; resolves with it, its connection id, and the frames it receives. */
async function openClient(): Promise<{ socket: WebSocket; connectionId: string; frames: string[]; closed: Promise<number> }> {
  const socket = new WebSocket(gateway.url);
  const frames: string[] = [];
  socket.on("message", (data) => frames.push(data.toString()));
  const closed = new Promise<number>((resolve) => socket.once("close", (code) => resolve(code)));
  await new Promise((resolve, reject) => {
    socket.once("open", resolve);
    socket.once("error", reject);
  });
  return { socket, connectionId: connected.at(-1)!, frames, closed };
}

async function until(condition: () => boolean): Promise<void> {
  const deadline = Date.now() + 5_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error("timed out");
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** Writes raw bytes to the management port and resolves with everything it answered until it closed or went quiet. */
function rawExchange(bytes: string, quietMs = 300): Promise<string> {
  const url = new URL(gateway.managementEndpoint);
  return new Promise((resolve, reject) => {
    const socket = connectTcp(Number(url.port), url.hostname, () => socket.write(bytes));
    let answer = "";
    let timer = setTimeout(() => socket.end(), quietMs);
    socket.on("data", (data) => {
      answer += data.toString("latin1");
      clearTimeout(timer);
      timer = setTimeout(() => socket.end(), quietMs);
    });
    socket.once("close", () => {
      clearTimeout(timer);
      resolve(answer);
    });
    socket.once("error", reject);
  });
}

describe("the sandbox gateway's management endpoint", () => {
  it("delivers PostToConnection frames, describes the connection, and closes it on DeleteConnection", async () => {
    const { connectionId, frames, closed } = await openClient();
    await client.send(new PostToConnectionCommand({ ConnectionId: connectionId, Data: new TextEncoder().encode('{"event":"first"}') }));
    await client.send(new PostToConnectionCommand({ ConnectionId: connectionId, Data: "é second" }));
    await until(() => frames.length === 2);
    expect(frames).toEqual(['{"event":"first"}', "é second"]);
    expect(gateway.stats.posts).toBeGreaterThanOrEqual(2);

    const described = await client.send(new GetConnectionCommand({ ConnectionId: connectionId }));
    expect(described.ConnectedAt).toBeInstanceOf(Date);
    expect(described.Identity?.SourceIp).toBe("127.0.0.1");

    await client.send(new DeleteConnectionCommand({ ConnectionId: connectionId }));
    await expect(client.send(new PostToConnectionCommand({ ConnectionId: connectionId, Data: "late" }))).rejects.toBeInstanceOf(GoneException);
    expect(await closed).toBe(1000);
    await expect(client.send(new PostToConnectionCommand({ ConnectionId: connectionId, Data: "later" }))).rejects.toBeInstanceOf(GoneException);
    await until(() => disconnects.get(connectionId) === 1);
  });

  it("answers 410 to every request of a connection from the moment DeleteConnection returns, and runs $disconnect exactly once", async () => {
    const rounds = 300;
    const opened: Awaited<ReturnType<typeof openClient>>[] = [];
    // One at a time: openClient reads its connection id as the last one `$connect` saw.
    for (let i = 0; i < rounds; i++) opened.push(await openClient());
    const gone = (request: Promise<unknown>) => request.then(() => 200, (error: unknown) => (error instanceof GoneException ? 410 : String(error)));
    const answers: unknown[] = [];
    for (const { connectionId } of opened) {
      await client.send(new DeleteConnectionCommand({ ConnectionId: connectionId }));
      answers.push(
        await gone(client.send(new PostToConnectionCommand({ ConnectionId: connectionId, Data: "after delete" }))),
        await gone(client.send(new GetConnectionCommand({ ConnectionId: connectionId }))),
        await gone(client.send(new DeleteConnectionCommand({ ConnectionId: connectionId }))),
      );
    }
    expect(answers.filter((answer) => answer !== 410)).toEqual([]);
    await Promise.all(opened.map(({ closed }) => closed));
    await until(() => opened.every(({ connectionId }) => disconnects.get(connectionId) === 1));
    expect(opened.every(({ frames }) => frames.length === 0)).toBe(true);
  });

  it("forgets a connection the client closed, running $disconnect once", async () => {
    const { connectionId, socket, closed } = await openClient();
    socket.close(1000);
    await closed;
    await expect(client.send(new PostToConnectionCommand({ ConnectionId: connectionId, Data: "after close" }))).rejects.toBeInstanceOf(GoneException);
    await until(() => disconnects.get(connectionId) === 1);
  });

  it("answers GoneException for an unknown connection and PayloadTooLargeException for a frame over 128 KB, as API Gateway does", async () => {
    await expect(client.send(new PostToConnectionCommand({ ConnectionId: "never-was", Data: "x" }))).rejects.toBeInstanceOf(GoneException);
    const { connectionId, frames, socket } = await openClient();
    await expect(client.send(new PostToConnectionCommand({ ConnectionId: connectionId, Data: "x".repeat(128 * 1024 + 1) }))).rejects.toBeInstanceOf(PayloadTooLargeException);
    await client.send(new PostToConnectionCommand({ ConnectionId: connectionId, Data: "y".repeat(128 * 1024) }));
    await until(() => frames.length === 1);
    expect(frames[0]!.length).toBe(128 * 1024);
    socket.close();
  });

  it("answers pipelined requests in order on one kept-alive socket, a chunked body included", async () => {
    const { connectionId, frames, socket } = await openClient();
    const post = (body: string) => `POST /@connections/${connectionId} HTTP/1.1\r\nhost: gateway\r\ncontent-length: ${body.length}\r\n\r\n${body}`;
    const chunked = `POST /@connections/${connectionId} HTTP/1.1\r\nhost: gateway\r\ntransfer-encoding: chunked\r\n\r\n3\r\nthr\r\n2\r\nee\r\n0\r\n\r\n`;
    const gone = `POST /@connections/nobody HTTP/1.1\r\nhost: gateway\r\ncontent-length: 1\r\n\r\nz`;
    const answer = await rawExchange(post("one") + gone + post("two") + chunked);
    expect(answer.match(/HTTP\/1\.1 \d+/g)).toEqual(["HTTP/1.1 200", "HTTP/1.1 410", "HTTP/1.1 200", "HTTP/1.1 200"]);
    expect(answer).toContain("x-amzn-errortype: GoneException");
    await until(() => frames.length === 3);
    expect(frames).toEqual(["one", "two", "three"]);
    socket.close();
  });

  it("answers 404 off the @connections path, 400 to a connection id that does not decode and to bytes that are not HTTP, and closes when the client asks", async () => {
    expect(await rawExchange("GET /elsewhere HTTP/1.1\r\nhost: gateway\r\n\r\n")).toMatch(/^HTTP\/1\.1 404 /);
    expect(await rawExchange("POST /@connections/%E0%A4%A HTTP/1.1\r\nhost: gateway\r\ncontent-length: 1\r\n\r\nx")).toMatch(/^HTTP\/1\.1 400 [^]*BadRequestException/);
    expect(await rawExchange("POST /@connections/x HTTP/1.1\r\ncontent-length: nope\r\n\r\n")).toMatch(/^HTTP\/1\.1 400 [^]*connection: close/);
    const closing = await rawExchange("GET /@connections/nobody HTTP/1.1\r\nhost: gateway\r\nconnection: close\r\n\r\n", 5_000);
    expect(closing).toMatch(/^HTTP\/1\.1 410 [^]*connection: close/);
  });
});
