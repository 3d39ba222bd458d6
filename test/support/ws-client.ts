/** A WebSocket test client that collects every frame and waits for the ones a test expects. */
import WebSocket from "ws";

export type Frame = Record<string, unknown>;

export interface TestClient {
  socket: WebSocket;
  frames: Frame[];
  /** Frames with their arrival time (ms). */
  arrivals: { at: number; frame: Frame }[];
  next(predicate: (frame: Frame) => boolean, timeoutMs?: number): Promise<Frame>;
  send(message: unknown): void;
}

/** A client that collects every frame it receives. */
export async function connect(url: string): Promise<TestClient> {
  const socket = new WebSocket(url);
  const frames: Frame[] = [];
  const arrivals: { at: number; frame: Frame }[] = [];
  const waiters: { predicate: (frame: Frame) => boolean; resolve: (frame: Frame) => void }[] = [];
  socket.on("message", (data) => {
    const frame = JSON.parse(data.toString()) as Frame;
    frames.push(frame);
    arrivals.push({ at: Date.now(), frame });
    for (const waiter of [...waiters]) if (waiter.predicate(frame)) {
      waiters.splice(waiters.indexOf(waiter), 1);
      waiter.resolve(frame);
    }
  });
  await new Promise<void>((resolve, reject) => {
    socket.once("open", () => resolve());
    socket.once("error", reject);
  });
  return {
    socket,
    frames,
    arrivals,
    send: (message) => socket.send(typeof message === "string" ? message : JSON.stringify(message)),
    next: (predicate, timeoutMs = 5000) =>
      new Promise((resolve, reject) => {
        const found = frames.find(predicate);
        if (found !== undefined) return resolve(found);
        const timer = setTimeout(() => reject(new Error(`no such frame; got ${JSON.stringify(frames).slice(0, 2000)}`)), timeoutMs);
        waiters.push({ predicate, resolve: (frame) => (clearTimeout(timer), resolve(frame)) });
      }),
  };
}

