/**
 * Watches a job with the subscriber client while this script reports its progress, against the
 * sandbox (`npm start`): `npx node sdk/client/examples/watch-job.ts`. HEADWAY_URL and
 * HEADWAY_API_KEY point it elsewhere (the key defaults to the sandbox's, in .headway/dev-api-key).
 */
import { readFileSync } from "node:fs";
import { createSubscriber, type JobSnapshot } from "../index.ts";

const httpUrl = process.env.HEADWAY_URL ?? "http://127.0.0.1:8787";
const apiKey = process.env.HEADWAY_API_KEY ?? readFileSync(".headway/dev-api-key", "utf8").trim();

async function call<T>(path: string, body: unknown): Promise<T> {
  const response = await fetch(`${httpUrl}${path}`, { method: "POST", headers: { authorization: `Bearer ${apiKey}` }, body: JSON.stringify(body) });
  if (!response.ok) throw new Error(`POST ${path}: ${response.status} ${await response.text()}`);
  return (await response.json()) as T;
}

const job = await call<{ job_id: string; websocket_url: string | null }>("/v1/jobs", {
  plan: { steps: { encoded: { robot: "/video/encode", use: ":original" } } },
  originals: [{ original_id: "clip.mp4", mime: "video/mp4" }],
  emit_execution_progress: true,
});

const subscriber = createSubscriber({
  websocketUrl: job.websocket_url,
  httpUrl,
  // In a browser, ask your own backend (which holds the API key) for a token scoped to the job.
  getToken: async () => (await call<{ token: string }>("/v1/tokens", { job_ids: [job.job_id] })).token,
});
const finished = new Promise<JobSnapshot>((resolve) => {
  subscriber.subscribe(
    job.job_id,
    (snapshot) => {
      const command = snapshot.detail?.in_flight?.[0];
      console.log(`${snapshot.status} ${snapshot.progress_combined ?? "-"}% (version ${snapshot.version})${command?.message ? `: ${command.message}` : ""}`);
    },
    { detail: true, onFinished: resolve },
  );
});

// The worker's side, as raw events (the producer SDK fills these fields in for you).
let sequence = 0;
const event = (type: string, fields: Record<string, unknown>) => ({ v: 1, type, job_id: job.job_id, event_id: `e${++sequence}`, at: new Date().toISOString(), ...fields });
const step = { step: "encoded", original_id: "clip.mp4", attempt: 1 };
for (const current of [25, 50, 75]) {
  await call(`/v1/jobs/${job.job_id}/events`, event("step.progress", { ...step, progress: [current, 100], unit: "Bytes", message: `encoded ${current} of 100` }));
  await new Promise((resolve) => setTimeout(resolve, 2_500));
}
await call(`/v1/jobs/${job.job_id}/events`, { v: 1, events: [event("step.completed", { ...step, result_count: 1 }), event("job.completed", {})] });

const final = await finished;
console.log(`finished: ${final.status} at ${final.progress_combined}%`);
subscriber.close();
