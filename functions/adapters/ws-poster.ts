/**
 * Poster on API Gateway's @connections API.
 *
 * PostToConnection, the call a fan-out tick makes once per connection (10,000 times for 10,000
 * subscribers), is the management client's request sent straight on a keep-alive socket pool:
 * the same path, headers and SigV4 signature (the SDK's own signer, with the client's
 * credentials), without the SDK's per-command pipeline (middleware, endpoint rules,
 * schema serializer and deserializer, retry tokens), which cost three to four times the request
 * itself and kept a 10,000-subscriber tick from fitting in its 2 s (docs/realtime.md: measured).
 * The request goes through undici's dispatch API rather than `request()`, whose response stream
 * and promises cost a quarter of an unsigned post.
 * test/ws-poster.int.test.ts pins that the request is the client's. DeleteConnection, rare, goes
 * through the client.
 *
 * A failed post is not retried here (the channel retries its jobs on the next tick), except once
 * on a keep-alive socket the server had already closed.
 */
import { ApiGatewayManagementApiClient, DeleteConnectionCommand, GoneException } from "@aws-sdk/client-apigatewaymanagementapi";
import { SignatureV4 } from "@smithy/signature-v4";
import type { AwsCredentialIdentity, Provider } from "@smithy/types";
import { Pool } from "undici";
import type { Delivery, PostOutcome, Poster } from "../../core/ports.ts";
import { withoutLogging } from "./aws-clients.ts";
import { Sha256 } from "./sha256.ts";

/** Posts in flight at once (and sockets kept open): enough to keep a tick's posts flowing. */
export const POST_CONCURRENCY = 256;
/** A post that has not been answered by then is failed (its jobs go again next tick). */
const POST_TIMEOUT_MS = 5_000;

export interface WsPosterOptions {
  /** The management endpoint, stage included: `https://{api}.execute-api.{region}.amazonaws.com/{stage}`. */
  endpoint: string;
  region: string;
  /** Static credentials; the default provider chain (the Lambda's role) when absent. */
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  /**
   * Skip SigV4 signing: only for the sandbox's local gateway, which checks no signature, so that
   * the sandbox's cores are not spent on signatures nobody reads.
   */
  isUnsigned?: boolean;
  /** Posts in flight at once (POST_CONCURRENCY by default). */
  concurrency?: number;
  /** How long a post may go unanswered (POST_TIMEOUT_MS by default). */
  timeoutMs?: number;
}

export function createWsPoster(options: WsPosterOptions): Poster {
  const concurrency = options.concurrency ?? POST_CONCURRENCY;
  const timeoutMs = options.timeoutMs ?? POST_TIMEOUT_MS;
  const client = withoutLogging(new ApiGatewayManagementApiClient({
    endpoint: options.endpoint,
    region: options.region,
    sha256: Sha256,
    ...(options.credentials === undefined ? {} : { credentials: options.credentials }),
    ...(options.isUnsigned === true ? { signer: { sign: async <T>(request: T) => request } } : {}),
  }));
  const endpoint = new URL(options.endpoint);
  const sockets = new Pool(endpoint.origin, { connections: concurrency, headersTimeout: timeoutMs, bodyTimeout: timeoutMs, connect: { timeout: timeoutMs } });
  const port = endpoint.port === "" ? undefined : Number(endpoint.port);
  const host = endpoint.host;
  const basePath = endpoint.pathname.replace(/\/+$/, "");
  const signer =
    options.isUnsigned === true
      ? undefined
      : new SignatureV4({ service: "execute-api", region: options.region, sha256: Sha256, credentials: client.config.credentials as Provider<AwsCredentialIdentity> });
  /** Frames shared by many connections (one per set of watched jobs) are hashed once. */
  const payloadHashes = new WeakMap<Uint8Array, string>();
  const encoder = new TextEncoder();

  async function payloadHash(data: Uint8Array): Promise<string> {
    let hash = payloadHashes.get(data);
    if (hash === undefined) {
      const hasher = new Sha256();
      hasher.update(data);
      hash = Buffer.from(await hasher.digest()).toString("hex");
      payloadHashes.set(data, hash);
    }
    return hash;
  }

  async function headersFor(path: string, data: Uint8Array): Promise<Record<string, string>> {
    const headers: Record<string, string> = { host, "content-type": "application/octet-stream", "content-length": String(data.byteLength) };
    if (signer === undefined) return headers;
    headers["x-amz-content-sha256"] = await payloadHash(data);
    const signed = await signer.sign({ method: "POST", protocol: endpoint.protocol, hostname: endpoint.hostname, ...(port === undefined ? {} : { port }), path, query: {}, headers, body: data });
    return signed.headers;
  }

  /** One request on the pool: a post's answer is a status and, for errors only, a short body. */
  function attempt(path: string, headers: Record<string, string>, data: Uint8Array): Promise<PostAnswer> {
    return new Promise((resolve, reject) => {
      let status = 0;
      let errorType: string | undefined;
      let body: Buffer[] | undefined;
      sockets.dispatch(
        { method: "POST", path, headers, body: data },
        {
          onRequestStart() {},
          onResponseStart(_controller, statusCode, responseHeaders) {
            status = statusCode;
            errorType = headerText(responseHeaders["x-amzn-errortype"]);
          },
          onResponseData(_controller, chunk) {
            (body ??= []).push(chunk);
          },
          onResponseEnd() {
            resolve({ status, errorType, body: body === undefined ? "" : Buffer.concat(body).toString() });
          },
          onResponseError(_controller, error) {
            const code = (error as { code?: string }).code;
            if (code === "UND_ERR_HEADERS_TIMEOUT" || code === "UND_ERR_BODY_TIMEOUT" || code === "UND_ERR_CONNECT_TIMEOUT") reject(new Error(`PostToConnection not answered within ${timeoutMs} ms`, { cause: error }));
            else reject(error);
          },
        },
      );
    });
  }

  async function postData(connectionId: string, data: Uint8Array): Promise<"sent" | "gone"> {
    // As the client encodes its path label (encodeURIComponent, then !'()* too).
    const path = `${basePath}/@connections/${encodeURIComponent(connectionId).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)}`;
    const headers = await headersFor(path, data);
    let answer: PostAnswer;
    try {
      answer = await attempt(path, headers, data);
    } catch (error) {
      // A kept-alive socket that the gateway closed as the post went out: send it once more on a
      // new one (were it delivered after all, the client drops the repeat by version).
      if ((error as { code?: string }).code !== "UND_ERR_SOCKET") throw error;
      answer = await attempt(path, headers, data);
    }
    if (answer.status >= 200 && answer.status < 300) return "sent";
    if (answer.status === 410) return "gone";
    throw new Error(`PostToConnection answered ${answer.status}${answer.errorType === undefined ? "" : ` ${answer.errorType}`}: ${answerMessage(answer.body)}`);
  }

  return {
    post: (connectionId, frame) => postData(connectionId, encoder.encode(JSON.stringify(frame))),
    async postAll(deliveries: readonly Delivery[]): Promise<PostOutcome[]> {
      const outcomes: PostOutcome[] = new Array(deliveries.length);
      // Connections watching the same jobs share one body: encode it (and hash it) once.
      const encoded = new Map<string, Uint8Array>();
      let next = 0;
      const worker = async () => {
        while (next < deliveries.length) {
          const index = next++;
          const { connectionId, body } = deliveries[index]!;
          let data = encoded.get(body);
          if (data === undefined) encoded.set(body, (data = encoder.encode(body)));
          try {
            outcomes[index] = await postData(connectionId, data);
          } catch (error) {
            outcomes[index] = { error: String(error) };
          }
        }
      };
      await Promise.all(Array.from({ length: Math.min(concurrency, deliveries.length) }, worker));
      return outcomes;
    },
    async disconnect(connectionId) {
      try {
        await client.send(new DeleteConnectionCommand({ ConnectionId: connectionId }));
      } catch (error) {
        if (!isGone(error)) throw error;
      }
    },
  };
}

interface PostAnswer {
  status: number;
  errorType: string | undefined;
  body: string;
}

function headerText(value: string | string[] | undefined): string | undefined {
  // AWS may append `:<url>` to the error type.
  return (Array.isArray(value) ? value[0] : value)?.split(":")[0];
}

function answerMessage(body: string): string {
  try {
    const parsed = JSON.parse(body) as { message?: unknown; Message?: unknown };
    const message = parsed.message ?? parsed.Message;
    if (typeof message === "string") return message;
  } catch {
    // not JSON: the text itself
  }
  return body.slice(0, 200);
}

function isGone(error: unknown): boolean {
  return error instanceof GoneException || (error as Error).name === "GoneException" || (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 410;
}
