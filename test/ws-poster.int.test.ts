/**
 * The poster sends PostToConnection itself (functions/adapters/ws-poster.ts): these tests pin that
 * its request is the management client's — path, content, payload hash and a SigV4 signature
 * that a verifier accepting the client's own request accepts too — and what it makes of answers.
 */
import { ApiGatewayManagementApiClient, PostToConnectionCommand } from "@aws-sdk/client-apigatewaymanagementapi";
import { SignatureV4 } from "@smithy/signature-v4";
import { createHash } from "node:crypto";
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { createWsPoster } from "../functions/adapters/ws-poster.ts";

const credentials = { accessKeyId: "AKIDEXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY" };
const region = "eu-west-1";
/** API Gateway's connection ids end in `=`, which the path carries encoded. */
const connectionId = "L0SM9cOFvHcCIhw=";

interface Received {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

type Answer = (request: Received, index: number, socketRequests: number) => { status: number; headers?: Record<string, string>; body?: string } | "hang" | "reset";

const servers: Server[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

async function startServer(answer: Answer = () => ({ status: 200 })): Promise<{ endpoint: string; received: Received[] }> {
  const received: Received[] = [];
  const served = new WeakMap<object, number>();
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      const entry = { method: request.method!, url: request.url!, headers: request.headers, body: Buffer.concat(chunks) };
      received.push(entry);
      const onSocket = (served.get(request.socket) ?? 0) + 1;
      served.set(request.socket, onSocket);
      const reply = answer(entry, received.length - 1, onSocket);
      if (reply === "hang") return;
      if (reply === "reset") request.socket.destroy();
      else response.writeHead(reply.status, reply.headers).end(reply.body ?? "");
    });
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}/prod`, received };
}

/** The client's own hash, for the verifier. */
const sha256 = new ApiGatewayManagementApiClient({ region }).config.sha256;

/** Re-signs a received request over the headers its Authorization names, as API Gateway checks it; true when the signatures match. */
async function verifiesSignature(request: Received): Promise<boolean> {
  const authorization = String(request.headers.authorization);
  const signedHeaders = /SignedHeaders=([^,]+)/.exec(authorization)![1]!.split(";");
  const amzDate = String(request.headers["x-amz-date"]);
  const signingDate = new Date(`${amzDate.slice(0, 4)}-${amzDate.slice(4, 6)}-${amzDate.slice(6, 8)}T${amzDate.slice(9, 11)}:${amzDate.slice(11, 13)}:${amzDate.slice(13, 15)}Z`);
  const headers = Object.fromEntries(signedHeaders.map((name) => [name, String(request.headers[name])]));
  const [path, query] = request.url.split("?");
  const verifier = new SignatureV4({ service: "execute-api", region, credentials, sha256 });
  const signed = await verifier.sign(
    { method: request.method, protocol: "http:", hostname: "127.0.0.1", path: path!, query: Object.fromEntries(new URLSearchParams(query ?? "")), headers, body: request.body },
    { signingDate },
  );
  return signed.headers.authorization === authorization;
}

describe("PostToConnection as the management client sends it", () => {
  it("sends the client's path, content and payload hash, signed so that the client's verifier accepts it", async () => {
    const { endpoint, received } = await startServer();
    const frame = { event: "subscribed", job_id: "a1" };
    const sdk = new ApiGatewayManagementApiClient({ endpoint, region, credentials });
    await sdk.send(new PostToConnectionCommand({ ConnectionId: connectionId, Data: new TextEncoder().encode(JSON.stringify(frame)) }));
    const poster = createWsPoster({ endpoint, region, credentials });
    expect(await poster.post(connectionId, frame)).toBe("sent");

    const [fromSdk, fromPoster] = received as [Received, Received];
    expect(fromPoster.method).toBe(fromSdk.method);
    expect(fromPoster.url).toBe("/prod/@connections/L0SM9cOFvHcCIhw%3D");
    expect(fromPoster.url).toBe(fromSdk.url);
    expect(fromPoster.body.equals(fromSdk.body)).toBe(true);
    for (const header of ["content-type", "content-length", "x-amz-content-sha256", "host"]) expect(fromPoster.headers[header], header).toBe(fromSdk.headers[header]);
    expect(String(fromPoster.headers.authorization)).toMatch(/^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/\d{8}\/eu-west-1\/execute-api\/aws4_request, SignedHeaders=[^,]*host[^,]*x-amz-content-sha256;x-amz-date/);
    // The verifier is right: it accepts the reference client's request, and refuses one changed after signing.
    expect(await verifiesSignature(fromSdk)).toBe(true);
    expect(await verifiesSignature({ ...fromSdk, url: fromSdk.url.replace("%3D", "=") })).toBe(false);
    expect(await verifiesSignature({ ...fromSdk, headers: { ...fromSdk.headers, "x-amz-content-sha256": createHash("sha256").update("other").digest("hex") } })).toBe(false);
    expect(await verifiesSignature(fromPoster)).toBe(true);
  });

  it("signs each post with the credentials' session token, and hashes a shared frame's body once per frame", async () => {
    const { endpoint, received } = await startServer();
    const poster = createWsPoster({ endpoint, region, credentials: { ...credentials, sessionToken: "the-session" } as typeof credentials });
    const outcomes = await poster.postAll([
      { connectionId: "a=", body: '{"event":"x"}' },
      { connectionId: "b!'()*", body: '{"event":"x"}' },
      { connectionId: "c", body: '{"event":"y"}' },
    ]);
    expect(outcomes).toEqual(["sent", "sent", "sent"]);
    expect(received.map((request) => request.url).sort()).toEqual(["/prod/@connections/a%3D", "/prod/@connections/b%21%27%28%29%2A", "/prod/@connections/c"]);
    for (const request of received) {
      expect(request.headers["x-amz-security-token"]).toBe("the-session");
      expect(request.headers["x-amz-content-sha256"]).toBe(createHash("sha256").update(request.body).digest("hex"));
    }
  });

  it("sends unsigned to the sandbox's gateway when told to", async () => {
    const { endpoint, received } = await startServer();
    expect(await createWsPoster({ endpoint, region, credentials, isUnsigned: true }).post("c1", { ok: true })).toBe("sent");
    expect(received[0]!.headers.authorization).toBeUndefined();
    expect(received[0]!.body.toString()).toBe('{"ok":true}');
  });
});

describe("what a post's answer becomes", () => {
  it("410 is gone, 2xx sent, and any other answer an error naming its status and type, each delivery its own", async () => {
    const { endpoint } = await startServer(({ url }): ReturnType<Answer> => {
      if (url.endsWith("/gone")) return { status: 410, headers: { "x-amzn-errortype": "GoneException", "content-type": "application/json" }, body: '{"message":"gone"}' };
      if (url.endsWith("/throttled")) return { status: 429, headers: { "x-amzn-errortype": "LimitExceededException:http://internal.amazon.com/coral/" }, body: '{"message":"Rate exceeded"}' };
      if (url.endsWith("/broken")) return { status: 500, body: "oops" };
      return { status: 200 };
    });
    const poster = createWsPoster({ endpoint, region, credentials });
    const outcomes = await poster.postAll(["ok", "gone", "throttled", "broken", "ok2"].map((connectionId) => ({ connectionId, body: "{}" })));
    expect(outcomes.slice(0, 2)).toEqual(["sent", "gone"]);
    expect(outcomes[2]).toEqual({ error: "Error: PostToConnection answered 429 LimitExceededException: Rate exceeded" });
    expect(outcomes[3]).toEqual({ error: "Error: PostToConnection answered 500: oops" });
    expect(outcomes[4]).toBe("sent");
    await expect(poster.post("gone", {})).resolves.toBe("gone");
    await expect(poster.post("throttled", {})).rejects.toThrow(/429/);
  });

  it("fails a post the gateway never answers, without holding the others", async () => {
    const { endpoint } = await startServer(({ url }) => (url.endsWith("/stuck") ? "hang" : { status: 200 }));
    const poster = createWsPoster({ endpoint, region, credentials, timeoutMs: 300 });
    const started = Date.now();
    const outcomes = await poster.postAll([{ connectionId: "stuck", body: "{}" }, ...Array.from({ length: 20 }, (_, n) => ({ connectionId: `c${n}`, body: "{}" }))]);
    expect(outcomes[0]).toEqual({ error: expect.stringMatching(/not answered within 300 ms/) });
    expect(outcomes.slice(1).every((outcome) => outcome === "sent")).toBe(true);
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it("sends once more on a new socket when the gateway closed a kept-alive one under the post, and no more than once", async () => {
    // The second request on any socket meets a server that drops it (an idle socket closed under the request).
    const { endpoint, received } = await startServer((_request, _index, socketRequests) => (socketRequests > 1 ? "reset" : { status: 200 }));
    const poster = createWsPoster({ endpoint, region, credentials, concurrency: 1 });
    expect(await poster.post("first", {})).toBe("sent");
    expect(await poster.post("second", {})).toBe("sent");
    expect(received.map((request) => request.url.split("/").pop())).toEqual(["first", "second", "second"]);
    // A gateway that drops every post: tried twice, then failed (the next tick sends it again).
    const { endpoint: rude, received: dropped } = await startServer(() => "reset");
    expect(await createWsPoster({ endpoint: rude, region, credentials }).postAll([{ connectionId: "c", body: "{}" }])).toEqual([{ error: expect.stringMatching(/other side closed/) }]);
    expect(dropped).toHaveLength(2);
  });
});
