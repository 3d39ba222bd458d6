/**
 * The fan-out benchmark's WebSocket clients, in a process of their own (each process may hold
 * at most 20,000 open files here). Driven by the parent over IPC:
 *   {type:"connect", url, connections:[{token, jobs}]} → opens and subscribes all, answers {type:"ready"}
 *   {type:"report"} → answers {type:"report", seen:[[connection, job, progress, receivedAtMs]...]}
 * A connection (its index in the plan) records, per job and progress value (a whole percent), the
 * first time it saw it. Receipts go into one array allocated up front, so that a new value costs
 * a client no more than a repeat: otherwise the garbage of recording new values (and the old-space
 * collections it brings in a process holding 10,000 sockets) takes CPU from the poster and the
 * gateway during a tick, and not during the floor that posts the same frames again.
 */
import WebSocket from "ws";

interface Plan {
  url: string;
  connections: { token: string; jobs: string[] }[];
}

const PROGRESS_VALUES = 101; // 0–100 %
let plan: Plan | undefined;
/** First receipt time (ms) of (connection, job slot, progress): 0 until seen. */
let firstSeenAt = new Float64Array(0);
const sockets: WebSocket[] = [];

/** What a frame says: whether it confirms a subscription, and the (job, progress) values it carries. */
interface FrameContent {
  isSubscribed: boolean;
  values: [jobId: string, progress: number][];
}

/**
 * Frames are shared by every connection that watches the same jobs (100 distinct bodies a tick for
 * 10,000 connections here), so each distinct one is parsed once: parsing every copy was 40 % of
 * these clients' CPU, taken from the service on the same cores.
 */
const contents = new Map<string, FrameContent>();

function contentOf(text: string): FrameContent {
  let content = contents.get(text);
  if (content !== undefined) return content;
  const frame = JSON.parse(text) as Frame;
  const events = frame.event === "batch" ? (frame.events ?? []) : [frame];
  const values: FrameContent["values"] = [];
  for (const event of events) {
    if (event.event !== "assembly_execution_progress" || event.job_id === undefined) continue;
    const progress = event.data?.progress_combined;
    if (typeof progress === "number" && Number.isInteger(progress) && progress >= 0 && progress < PROGRESS_VALUES) values.push([event.job_id, progress]);
  }
  if (contents.size >= 10_000) contents.clear();
  contents.set(text, (content = { isSubscribed: frame.event === "subscribed", values }));
  return content;
}

interface Frame {
  event?: string;
  job_id?: string;
  data?: { progress_combined?: number | null };
  events?: Frame[];
}

function record(connection: number, jobs: readonly string[], values: FrameContent["values"]) {
  for (const [jobId, progress] of values) {
    const slot = jobs.indexOf(jobId);
    if (slot < 0) continue;
    const index = (connection * jobs.length + slot) * PROGRESS_VALUES + progress;
    if (firstSeenAt[index] === 0) firstSeenAt[index] = Date.now();
  }
}

async function open(connection: number, url: string, token: string, jobs: string[]): Promise<void> {
  const socket = new WebSocket(`${url}?token=${token}`);
  sockets.push(socket);
  let pending = jobs.length;
  await new Promise<void>((resolve, reject) => {
    socket.on("message", (data) => {
      const content = contentOf(data.toString());
      if (content.isSubscribed && --pending === 0) resolve();
      else record(connection, jobs, content.values);
    });
    socket.once("open", () => {
      for (const job of jobs) socket.send(JSON.stringify({ action: "subscribe", job_id: job }));
    });
    socket.once("error", reject);
  });
}

function report(): [number, string, number, number][] {
  const seen: [number, string, number, number][] = [];
  plan!.connections.forEach(({ jobs }, connection) => {
    jobs.forEach((job, slot) => {
      for (let progress = 0; progress < PROGRESS_VALUES; progress++) {
        const at = firstSeenAt[(connection * jobs.length + slot) * PROGRESS_VALUES + progress]!;
        if (at !== 0) seen.push([connection, job, progress, at]);
      }
    });
  });
  return seen;
}

process.on("message", (message: { type: string } & Partial<Plan>) => {
  void (async () => {
    if (message.type === "connect") {
      plan = message as Plan;
      const jobsPerConnection = Math.max(0, ...plan.connections.map(({ jobs }) => jobs.length));
      firstSeenAt = new Float64Array(plan.connections.length * jobsPerConnection * PROGRESS_VALUES);
      let next = 0;
      await Promise.all(Array.from({ length: 100 }, async () => {
        while (next < plan!.connections.length) {
          const index = next++;
          const connection = plan!.connections[index]!;
          await open(index, plan!.url, connection.token, connection.jobs);
        }
      }));
      firstSeenAt.fill(0);
      process.send!({ type: "ready", connections: sockets.length });
    } else if (message.type === "report") {
      process.send!({ type: "report", seen: report() });
    } else if (message.type === "close") {
      for (const socket of sockets) socket.terminate();
      process.exit(0);
    }
  })();
});
