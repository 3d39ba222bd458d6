/**
 * A sandbox server on a worker thread of its own, so that the emulators and the gateway use the
 * machine's other cores as their AWS counterparts run apart from the functions. The module that
 * holds the server starts itself as the worker: `startServerThread(import.meta.url, ...)` on the
 * caller's side, and `if (isServerThread(import.meta.url)) serveOnThread(...)` at its top level.
 * Lifecycle messages: the thread answers `listening` (or `failed`), and `closed` after `close`;
 * anything else passes to the handlers given on either side.
 */
import { isMainThread, parentPort, Worker, workerData } from "node:worker_threads";

type ThreadMessage = { type: "listening"; port: number } | { type: "failed"; message: string; code: string | undefined } | { type: "closed" };

export interface ServerThread {
  port: number;
  send(message: unknown): void;
  close(): Promise<void>;
}

export interface ThreadServer {
  port: number;
  close(): Promise<void>;
}

export async function startServerThread(moduleUrl: string, data: Record<string, unknown>, onMessage: (message: unknown) => void = () => {}): Promise<ServerThread> {
  const worker = new Worker(new URL(moduleUrl), { workerData: { serverThread: moduleUrl, ...data } });
  let onClosed: (() => void) | undefined;
  const port = await new Promise<number>((resolve, reject) => {
    worker.once("error", reject);
    worker.once("exit", (code) => reject(new Error(`server thread ${moduleUrl} exited with code ${code}`)));
    worker.on("message", (message: ThreadMessage | { type?: undefined }) => {
      if (message.type === "listening") resolve(message.port);
      else if (message.type === "failed") reject(Object.assign(new Error(message.message), { code: message.code }));
      else if (message.type === "closed") onClosed?.();
      else onMessage(message);
    });
  }).catch(async (error: unknown) => {
    await worker.terminate();
    throw error;
  });
  return {
    port,
    send: (message) => worker.postMessage(message),
    async close() {
      // A thread that already died (say, an emulator's uncaught error) has nothing left to close.
      await new Promise<void>((resolve) => {
        onClosed = resolve;
        worker.once("exit", () => resolve());
        worker.postMessage({ type: "close" });
      });
      await worker.terminate();
    },
  };
}

/** True on a thread that `startServerThread(moduleUrl)` started. */
export function isServerThread(moduleUrl: string): boolean {
  return !isMainThread && (workerData as { serverThread?: string } | null)?.serverThread === moduleUrl;
}

/** Runs on the server's thread: starts it with the caller's data and answers the lifecycle messages. */
export async function serveOnThread<D>(start: (data: D, tell: (message: unknown) => void) => Promise<ThreadServer>, onMessage: (message: unknown) => void = () => {}): Promise<void> {
  const owner = parentPort!;
  const tell = (message: unknown) => owner.postMessage(message);
  try {
    const server = await start(workerData as D, tell);
    owner.on("message", (message: { type?: string }) => {
      if (message.type === "close") void server.close().catch(() => {}).then(() => tell({ type: "closed" } satisfies ThreadMessage));
      else onMessage(message);
    });
    tell({ type: "listening", port: server.port } satisfies ThreadMessage);
  } catch (error) {
    tell({ type: "failed", message: (error as Error).message ?? String(error), code: (error as NodeJS.ErrnoException).code } satisfies ThreadMessage);
  }
}
