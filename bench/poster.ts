/**
 * What one PostToConnection costs the poster's thread: 10,000 posts of a ~1 KB frame to a local
 * HTTP server (in a process of its own, so that its CPU is not counted), 256 in flight, sent
 *   - by the management client (`@aws-sdk/client-apigatewaymanagementapi`, signed, keep-alive
 *     sockets for all 256, the poster's hash), what the poster would cost through the SDK;
 *   - by Headway's poster (functions/adapters/ws-poster.ts), signed as in the cloud;
 *   - by Headway's poster unsigned, as the sandbox sends.
 * Alternating rounds, the median of five each. Prints CPU µs per post (user + system of this
 * process) and the poster ÷ client ratio.
 */
import { ApiGatewayManagementApiClient, PostToConnectionCommand } from "@aws-sdk/client-apigatewaymanagementapi";
import { fork } from "node:child_process";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { Agent as HttpAgent } from "node:http";
import { Agent as HttpsAgent } from "node:https";
import type { PostOutcome } from "../core/ports.ts";
import { Sha256 } from "../functions/adapters/sha256.ts";
import { createWsPoster, POST_CONCURRENCY } from "../functions/adapters/ws-poster.ts";

const POSTS = 10_000;
const ROUNDS = 5;
const credentials = { accessKeyId: "AKIDBENCH", secretAccessKey: "bench-secret" };

/** A post that failed costs less than one sent: a run with failures measures nothing. */
function allSent(outcomes: readonly PostOutcome[]): void {
  const failed = outcomes.find((outcome) => outcome !== "sent");
  if (failed !== undefined) throw new Error(`a post was not sent: ${JSON.stringify(failed)}`);
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

async function serve(): Promise<void> {
  const server = createServer((request, response) => {
    request.resume();
    request.on("end", () => response.writeHead(200).end());
  });
  server.listen(0, "127.0.0.1", () => process.send!((server.address() as AddressInfo).port));
}

export async function main(): Promise<void> {
  const server = fork(import.meta.filename, ["serve"], { stdio: ["ignore", "inherit", "inherit", "ipc"] });
  try {
    const port = await new Promise<number>((resolve) => server.once("message", (message) => resolve(message as number)));
    const endpoint = `http://127.0.0.1:${port}/prod`;
    const frame = JSON.stringify({ event: "batch", events: Array.from({ length: 2 }, (_, n) => ({ event: "assembly_execution_progress", job_id: `fan-${n}`, data: { v: 1, job_id: `fan-${n}`, status: "executing", version: 42, progress_combined: 50, progress_per_original_file: [{ original_id: "f1", progress: 50 }], indicators: [], eta_seconds: 12, updated_at: new Date(0).toISOString() } })) });
    const deliveries = Array.from({ length: POSTS }, (_, n) => ({ connectionId: `conn${n}AAAAAAAAAA=`, body: frame }));
    const data = new TextEncoder().encode(frame);

    const sdk = new ApiGatewayManagementApiClient({
      endpoint,
      region: "eu-west-1",
      credentials,
      cacheMiddleware: true,
      sha256: Sha256,
      requestHandler: { httpAgent: new HttpAgent({ keepAlive: true, maxSockets: POST_CONCURRENCY }), httpsAgent: new HttpsAgent({ keepAlive: true, maxSockets: POST_CONCURRENCY }) },
    });
    const signed = createWsPoster({ endpoint, region: "eu-west-1", credentials });
    const unsigned = createWsPoster({ endpoint, region: "eu-west-1", credentials, isUnsigned: true });
    const senders: Record<string, () => Promise<unknown>> = {
      sdk_client: async () => {
        let next = 0;
        await Promise.all(Array.from({ length: POST_CONCURRENCY }, async () => {
          while (next < POSTS) await sdk.send(new PostToConnectionCommand({ ConnectionId: deliveries[next++]!.connectionId, Data: data }));
        }));
      },
      poster_signed: async () => allSent(await signed.postAll(deliveries)),
      poster_unsigned: async () => allSent(await unsigned.postAll(deliveries)),
    };
    const perPost: Record<string, number[]> = Object.fromEntries(Object.keys(senders).map((name) => [name, []]));
    for (let round = 0; round <= ROUNDS; round++) {
      for (const [name, send] of Object.entries(senders)) {
        const before = process.cpuUsage();
        await send();
        const used = process.cpuUsage(before);
        // Round 0 warms up (JIT, sockets) and is not counted.
        if (round > 0) perPost[name]!.push((used.user + used.system) / POSTS);
      }
    }
    const figure = (name: string) => median(perPost[name]!);
    console.log(`post_cpu_us_sdk_client: ${figure("sdk_client").toFixed(1)}`);
    console.log(`post_cpu_us_poster_signed: ${figure("poster_signed").toFixed(1)}`);
    console.log(`post_cpu_us_poster_unsigned: ${figure("poster_unsigned").toFixed(1)}`);
    console.log(`poster_signed_over_sdk_client: ${(figure("poster_signed") / figure("sdk_client")).toFixed(2)}`);
  } finally {
    server.kill();
  }
}

if (process.argv[2] === "serve") await serve();
