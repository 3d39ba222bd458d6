/** Poster on API Gateway's @connections API (the real management client; the sandbox's gateway speaks it too). */
import { ApiGatewayManagementApiClient, DeleteConnectionCommand, GoneException, PostToConnectionCommand } from "@aws-sdk/client-apigatewaymanagementapi";
import { Agent as HttpAgent } from "node:http";
import { Agent as HttpsAgent } from "node:https";
import type { Poster } from "../../core/ports.ts";

/** The ticker posts to many connections at once: more sockets than the SDK's default 50. */
const MAX_SOCKETS = 256;

export interface WsPosterOptions {
  endpoint: string;
  region: string;
  credentials?: { accessKeyId: string; secretAccessKey: string };
  /**
   * Skip SigV4 signing: only for the sandbox's local gateway, which checks no signature. Signing
   * is most of a post's CPU cost (bench/fanout.ts), and the sandbox shares one thread.
   */
  isUnsigned?: boolean;
}

export function createWsPoster(options: WsPosterOptions): Poster {
  const client = new ApiGatewayManagementApiClient({
    endpoint: options.endpoint,
    region: options.region,
    requestHandler: { httpAgent: new HttpAgent({ keepAlive: true, maxSockets: MAX_SOCKETS }), httpsAgent: new HttpsAgent({ keepAlive: true, maxSockets: MAX_SOCKETS }) },
    ...(options.credentials === undefined ? {} : { credentials: options.credentials }),
    ...(options.isUnsigned === true ? { signer: { sign: async <T>(request: T) => request } } : {}),
  });
  const encoder = new TextEncoder();
  return {
    async post(connectionId, frame) {
      try {
        await client.send(new PostToConnectionCommand({ ConnectionId: connectionId, Data: encoder.encode(JSON.stringify(frame)) }));
        return "sent";
      } catch (error) {
        if (isGone(error)) return "gone";
        throw error;
      }
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
