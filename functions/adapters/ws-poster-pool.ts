/**
 * A Poster that spreads the ticker's posts over worker threads, each with its own management
 * client: a post's CPU (SDK middleware, serialization, HTTP) is the bulk of a fan-out tick
 * (bench/fanout.ts), and the thread that renders the tick need not also pay it.
 * With `threads: 0` it is the plain in-thread Poster.
 *
 * The worker runs this same module (so that a bundler that inlines it into a Lambda handler
 * keeps the worker's code too): on a worker thread started by the pool, the module serves posts.
 */
import { availableParallelism } from "node:os";
import { isMainThread, parentPort, Worker, workerData } from "node:worker_threads";
import type { Delivery, PostOutcome, Poster } from "../../core/ports.ts";
import { createWsPoster, POST_CONCURRENCY, type WsPosterOptions } from "./ws-poster.ts";

const ROLE = "headway-ws-poster";

interface PostRequest {
  id: number;
  bodies: string[];
  connectionIds: string[];
  bodyIndexes: number[];
}

interface PostReply {
  id: number;
  outcomes: PostOutcome[];
}

export interface WsPosterPool extends Poster {
  close(): Promise<void>;
}

/** Threads worth starting here: one per core beyond the one the caller runs on. */
export function defaultPostThreads(): number {
  return Math.max(0, availableParallelism() - 1);
}

export function createWsPosterPool(options: WsPosterOptions & { threads: number }): WsPosterPool {
  const { threads, ...posterOptions } = options;
  const inThread = createWsPoster(posterOptions);
  if (threads <= 0) return { ...inThread, close: async () => {} };

  const concurrency = Math.max(1, Math.ceil((posterOptions.concurrency ?? POST_CONCURRENCY) / threads));
  const pending = new Map<number, { resolve: (outcomes: PostOutcome[]) => void; size: number }>();
  let nextId = 0;
  const failAll = (workerIndex: number, reason: string) => {
    for (const [id, request] of pending) {
      if (id % threads !== workerIndex) continue;
      pending.delete(id);
      request.resolve(Array.from({ length: request.size }, () => ({ error: reason })));
    }
  };
  const workers = Array.from({ length: threads }, (_, index) => {
    const worker = new Worker(new URL(import.meta.url), { workerData: { role: ROLE, options: { ...posterOptions, concurrency } } });
    worker.unref();
    worker.on("message", ({ id, outcomes }: PostReply) => {
      const request = pending.get(id);
      pending.delete(id);
      if (![...pending.keys()].some((other) => other % threads === index)) worker.unref();
      request?.resolve(outcomes);
    });
    worker.on("error", (error) => failAll(index, `poster thread failed: ${String(error)}`));
    worker.on("exit", () => failAll(index, "poster thread exited"));
    return worker;
  });

  function postOn(workerIndex: number, deliveries: readonly Delivery[]): Promise<PostOutcome[]> {
    if (deliveries.length === 0) return Promise.resolve([]);
    const bodies: string[] = [];
    const bodyIndex = new Map<string, number>();
    const bodyIndexes = deliveries.map(({ body }) => {
      let index = bodyIndex.get(body);
      if (index === undefined) bodyIndex.set(body, (index = bodies.push(body) - 1));
      return index;
    });
    // Request ids map to workers (id % threads) so that a thread's failure fails only its requests.
    const id = nextId * threads + workerIndex;
    nextId++;
    return new Promise((resolve) => {
      pending.set(id, { resolve, size: deliveries.length });
      // Referenced only while it has work, so that an idle pool never keeps the process alive.
      workers[workerIndex]!.ref();
      workers[workerIndex]!.postMessage({ id, bodies, connectionIds: deliveries.map((delivery) => delivery.connectionId), bodyIndexes } satisfies PostRequest);
    });
  }

  return {
    post: inThread.post,
    disconnect: inThread.disconnect,
    async postAll(deliveries) {
      const share = Math.ceil(deliveries.length / threads);
      const parts = await Promise.all(workers.map((_, index) => postOn(index, deliveries.slice(index * share, (index + 1) * share))));
      return parts.flat();
    },
    async close() {
      await Promise.all(workers.map((worker) => worker.terminate()));
    },
  };
}

if (!isMainThread && (workerData as { role?: string } | null)?.role === ROLE) {
  const poster = createWsPoster((workerData as { options: WsPosterOptions }).options);
  parentPort!.on("message", async ({ id, bodies, connectionIds, bodyIndexes }: PostRequest) => {
    const outcomes = await poster.postAll(connectionIds.map((connectionId, index) => ({ connectionId, body: bodies[bodyIndexes[index]!]! })));
    parentPort!.postMessage({ id, outcomes } satisfies PostReply);
  });
}
