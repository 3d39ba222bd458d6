/**
 * The fan-out benchmark's WebSocket clients, in a process of their own (each process may hold
 * at most 20,000 open files here). Driven by the parent over IPC:
 *   {type:"connect", url, connections:[{token, jobs}]} → opens and subscribes all, answers {type:"ready"}
 *   {type:"report"} → answers {type:"report", seen:[[connection, job, progress, receivedAtMs]...]}
 * A connection (its index in the plan) records, per job and progress value, the first time it saw it.
 */
import WebSocket from "ws";

interface Plan {
  url: string;
  connections: { token: string; jobs: string[] }[];
}

const seen: [number, string, number, number][] = [];
const sockets: WebSocket[] = [];

function record(connection: number, frame: { event?: string; job_id?: string; data?: { progress_combined?: number | null }; events?: unknown[] }, firstSeen: Set<string>) {
  const events = frame.event === "batch" ? (frame.events as (typeof frame)[]) : [frame];
  for (const event of events) {
    if (event.event !== "assembly_execution_progress" || event.job_id === undefined) continue;
    const progress = event.data?.progress_combined;
    if (typeof progress !== "number") continue;
    const key = `${event.job_id}:${progress}`;
    if (firstSeen.has(key)) continue;
    firstSeen.add(key);
    seen.push([connection, event.job_id, progress, Date.now()]);
  }
}

async function open(connection: number, url: string, token: string, jobs: string[]): Promise<void> {
  const socket = new WebSocket(`${url}?token=${token}`);
  sockets.push(socket);
  const firstSeen = new Set<string>();
  let pending = jobs.length;
  await new Promise<void>((resolve, reject) => {
    socket.on("message", (data) => {
      const frame = JSON.parse(data.toString()) as { event?: string };
      if (frame.event === "subscribed" && --pending === 0) resolve();
      else record(connection, frame, firstSeen);
    });
    socket.once("open", () => {
      for (const job of jobs) socket.send(JSON.stringify({ action: "subscribe", job_id: job }));
    });
    socket.once("error", reject);
  });
}

process.on("message", (message: { type: string } & Partial<Plan>) => {
  void (async () => {
    if (message.type === "connect") {
      const plan = message as Plan;
      let next = 0;
      await Promise.all(Array.from({ length: 100 }, async () => {
        while (next < plan.connections.length) {
          const index = next++;
          const connection = plan.connections[index]!;
          await open(index, plan.url, connection.token, connection.jobs);
        }
      }));
      seen.length = 0;
      process.send!({ type: "ready", connections: sockets.length });
    } else if (message.type === "report") {
      process.send!({ type: "report", seen });
    } else if (message.type === "close") {
      for (const socket of sockets) socket.terminate();
      process.exit(0);
    }
  })();
});
