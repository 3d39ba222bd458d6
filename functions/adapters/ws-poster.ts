/** Poster on API Gateway's @connections API (the real management client; the sandbox's gateway speaks it too). */
import { ApiGatewayManagementApiClient, DeleteConnectionCommand, GoneException, PostToConnectionCommand } from "@aws-sdk/client-apigatewaymanagementapi";
import { Agent as HttpAgent } from "node:http";
import { Agent as HttpsAgent } from "node:https";
import type { Delivery, PostOutcome, Poster } from "../../core/ports.ts";

/** Posts in flight at once; the SDK's default of 50 sockets would queue the rest. */
export const POST_CONCURRENCY = 256;

export interface WsPosterOptions {
  endpoint: string;
  region: string;
  credentials?: { accessKeyId: string; secretAccessKey: string };
  /**
   * Skip SigV4 signing: only for the sandbox's local gateway, which checks no signature, so that
   * the sandbox's cores are not spent on signatures nobody reads.
   */
  isUnsigned?: boolean;
  /** Posts in flight at once (POST_CONCURRENCY by default). */
  concurrency?: number;
}

export function createWsPoster(options: WsPosterOptions): Poster {
  const concurrency = options.concurrency ?? POST_CONCURRENCY;
  const client = new ApiGatewayManagementApiClient({
    endpoint: options.endpoint,
    region: options.region,
    // Resolve the middleware stack once per command type, not on every post.
    cacheMiddleware: true,
    requestHandler: { httpAgent: new HttpAgent({ keepAlive: true, maxSockets: concurrency }), httpsAgent: new HttpsAgent({ keepAlive: true, maxSockets: concurrency }) },
    ...(options.credentials === undefined ? {} : { credentials: options.credentials }),
    ...(options.isUnsigned === true ? { signer: { sign: async <T>(request: T) => request } } : {}),
  });
  const encoder = new TextEncoder();

  async function send(connectionId: string, data: Uint8Array): Promise<"sent" | "gone"> {
    try {
      await client.send(new PostToConnectionCommand({ ConnectionId: connectionId, Data: data }));
      return "sent";
    } catch (error) {
      if (isGone(error)) return "gone";
      throw error;
    }
  }

  return {
    post: (connectionId, frame) => send(connectionId, encoder.encode(JSON.stringify(frame))),
    async postAll(deliveries: readonly Delivery[]): Promise<PostOutcome[]> {
      const outcomes: PostOutcome[] = new Array(deliveries.length);
      // Connections watching the same jobs share one body: encode it once.
      const encoded = new Map<string, Uint8Array>();
      let next = 0;
      const worker = async () => {
        while (next < deliveries.length) {
          const index = next++;
          const { connectionId, body } = deliveries[index]!;
          let data = encoded.get(body);
          if (data === undefined) encoded.set(body, (data = encoder.encode(body)));
          try {
            outcomes[index] = await send(connectionId, data);
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

function isGone(error: unknown): boolean {
  return error instanceof GoneException || (error as Error).name === "GoneException" || (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 410;
}
