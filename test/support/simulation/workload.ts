/**
 * The workload of one run: two tenants using the same job ids (each tenant's originals and labels
 * are named after it, so a frame or body that crossed tenants shows), 2–3 jobs each, created
 * through the store (as `POST /v1/jobs` does) or by a `job.declared` on the queue, each ending
 * `job.completed` or `job.failed`; and the producer that puts their messages on the events queue.
 */
import type { Event } from "../../../core/contract/events.ts";
import { partitioningFor } from "../../../core/estimator/partition.ts";
import { reduce } from "../../../core/estimator/reduce.ts";
import { createJobState } from "../../../core/estimator/state.ts";
import type { SimContext } from "./context.ts";
import { START_MS, TENANTS, type JobPlan } from "./model.ts";

const PLAN = { steps: { encoded: { robot: "/video/encode", use: ":original" } } };

/** Every tenant's jobs, the stored ones created; one endpoint among them answers 410 Gone for good. */
export async function planJobs(ctx: SimContext): Promise<JobPlan[]> {
  const jobs: JobPlan[] = [];
  for (const tenant of TENANTS) {
    const jobCount = 2 + ctx.draw(2);
    for (let j = 1; j <= jobCount; j++) jobs.push(await planJob(ctx, tenant, j));
  }
  const withHooks = jobs.filter((job) => job.notifyUrl !== null);
  if (withHooks.length > 0) {
    // One endpoint answers 410 Gone for good: it is left out of the final check, and retries to it must stop.
    const gone = withHooks[ctx.draw(withHooks.length)]!;
    ctx.fakes.goneUrls.add(gone.notifyUrl!);
  }
  return jobs;
}

async function planJob(ctx: SimContext, tenant: string, j: number): Promise<JobPlan> {
  const { random, draw } = ctx;
  const jobId = `job-${j}`;
  let sequence = 0;
  const event = <T extends Event["type"]>(type: T, fields: Record<string, unknown>): Event =>
    ({ v: 1, type, job_id: jobId, event_id: `${tenant}-${jobId}-e${++sequence}`, at: new Date(START_MS + sequence * 1000).toISOString(), ...fields }) as unknown as Event;
  // Now and then a job whose snapshot passes a frame's limit (its file list is paged); its other reports name a few files.
  const isLarge = tenant === "acme" && j === 1 && random() < 0.03;
  const files = isLarge
    ? Array.from({ length: 850 }, (_, i) => `${tenant}-f${String(i + 1).padStart(4, "0")}-${"x".repeat(110)}`)
    : Array.from({ length: 1 + draw(tenant === "acme" ? 3 : 2) }, (_, i) => `${tenant}-f${i + 1}`);
  const notifyUrl = random() < 0.7 ? `https://hooks.example/${tenant}/${jobId}` : null;
  const declared = event("job.declared", {
    plan: PLAN,
    originals: files.map((original_id) => ({ original_id, mime: "video/mp4" })),
    emit_execution_progress: random() < 0.6,
    ...(notifyUrl === null ? {} : { notify_url: notifyUrl }),
    ...(notifyUrl !== null && random() < 0.5 ? { notify_milestones: [25, 50, 75] } : {}),
  });
  const body: Event[] = [];
  for (const file of files.slice(0, 3)) {
    body.push(event("step.progress", { step: "encoded", original_id: file, attempt: 1, progress: [10 + draw(50), 100] }));
    if (random() < 0.5) body.push(event("step.progress", { step: "encoded", original_id: file, attempt: 1, progress: [60 + draw(30), 100] }));
    body.push(event("step.completed", { step: "encoded", original_id: file, attempt: 1, result_count: 1 }));
  }
  if (isLarge) ctx.count("large jobs");
  body.push(event("indicator.added", { label: `${tenant}-frames`, amount: files.length * 10, task_id: "t1", attempt: 1 }));
  body.push(event("indicator.done", { label: `${tenant}-frames`, amount: files.length * 10, task_id: "t1", attempt: 1 }));
  body.push(random() < 0.75 ? event("job.completed", {}) : event("job.failed", { error: `${tenant} gave up` }));
  const messages: JobPlan["messages"] = [];
  const omitTenant = () => tenant === "default" && random() < 0.5;
  if (random() < 0.5) {
    // Created as `POST /v1/jobs` creates it: the declaration reduced into a new state, no announcement.
    const declaredEvent = declared as Extract<Event, { type: "job.declared" }>;
    const state = createJobState(jobId, partitioningFor(declaredEvent));
    reduce(state, [declared], ctx.nowMs);
    await ctx.fakes.store.createJob({ tenant, jobId, incarnation: `${tenant}-${jobId}-0`, createdAtMs: ctx.nowMs }, state);
  } else messages.push({ body: declared, omitTenant: omitTenant() });
  for (let i = 0; i < body.length; ) {
    const size = 1 + draw(3);
    const events = body.slice(i, i + size);
    i += size;
    messages.push({ body: events.length === 1 ? events[0]! : { v: 1, events }, omitTenant: omitTenant() });
  }
  return { tenant, jobId, messages, notifyUrl, events: [declared, ...body] };
}

/** Puts one or two of a waiting job's messages on the events queue (`all`: every one of them). */
export function produce(ctx: SimContext, jobs: readonly JobPlan[], all = false): void {
  const { eventsSqs } = ctx.fakes;
  const waiting = jobs.filter((job) => job.messages.length > 0);
  if (waiting.length === 0) return;
  const job = waiting[ctx.draw(waiting.length)]!;
  for (let n = all ? Infinity : 1 + ctx.draw(2); n > 0 && job.messages.length > 0; n--) {
    const { body, omitTenant } = job.messages.shift()!;
    eventsSqs.send(JSON.stringify(body), { tenant: omitTenant ? null : job.tenant });
    if (ctx.options.trace) ctx.note(`produced a message of ${job.tenant}/${job.jobId} as ${eventsSqs.lastId()}: ${("events" in body ? body.events : [body]).map((event) => event.type).join(", ")}`);
  }
}

/** Whether some of the job's events are still to be produced or in the queue. */
export function hasEventsToCome(ctx: SimContext, job: JobPlan): boolean {
  return job.messages.length > 0 || ctx.fakes.eventsSqs.messages().some((message) => (message.tenant ?? "default") === job.tenant && message.body.includes(`"job_id":"${job.jobId}"`));
}
