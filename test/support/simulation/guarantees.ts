/**
 * What docs/realtime.md promises subscribers and webhook receivers, checked once the run has settled against what the clients and the
 * webhook receivers got and what the store holds: every job's final state equals the fault-free
 * fold of its events, every watcher got the final version and its `job_finished`, the newest
 * webhook body is the final one, nothing crossed tenants or a frame's limit, revoked keys lost
 * their connections, gone endpoints got no retries, and each tenant's job list is whole.
 */
import type { Snapshot } from "../../../core/contract/snapshot.ts";
import { isFinished } from "../../../core/delivery/frames.ts";
import { foldEvents } from "../../../core/estimator/reduce.ts";
import { renderSnapshot } from "../../../core/estimator/snapshot.ts";
import type { SimContext } from "./context.ts";
import { SQS_MESSAGE_LIMIT, TENANTS, type Client, type JobPlan, type Report } from "./model.ts";

/** Every original and label of a tenant's job is named after the tenant. */
export function checkTenant(report: Report, tenant: string, snapshot: Snapshot | undefined, where: string): void {
  if (snapshot === undefined) return report.violation(`${where}: an event without a snapshot`);
  const names = [...snapshot.progress_per_original_file.map((file) => file.original_id), ...snapshot.indicators.map((indicator) => indicator.label ?? "")];
  // A job that exists undeclared (its creation stored, the declaration's write not) names nothing yet.
  if (names.length === 0) report.count("snapshots of undeclared jobs");
  if (names.some((name) => !name.startsWith(`${tenant}-`))) report.violation(`${where}: crosses tenants (${tenant} was sent ${snapshot.job_id} v${snapshot.version} ${snapshot.status} naming ${names.join(", ") || "nothing"})`);
}

export async function checkGuarantees(ctx: SimContext, jobs: readonly JobPlan[], clients: readonly Client[]): Promise<void> {
  for (const job of jobs) checkJob(ctx, job, clients);
  for (const client of clients.filter((c) => c.revokedAtMs !== null)) {
    if (client.connectionId !== null) ctx.violation(`${client.name}: its key was revoked, yet its connection ${client.connectionId} is still open after settling`);
  }
  checkWebhooks(ctx);
  await checkJobLists(ctx, jobs);
  const { store, receivers } = ctx.fakes;
  ctx.count("store conflicts (retried)", store.conflicts);
  ctx.count("webhooks delivered", receivers.attempts.filter((attempt) => attempt.status === 200).length);
  ctx.count("webhook attempts refused (429, 500, no answer)", receivers.attempts.filter((attempt) => attempt.status !== 200 && attempt.status !== 410).length);
  ctx.count("webhook attempts answered 410", receivers.attempts.filter((attempt) => attempt.status === 410).length);
}

/** One job: stored whole, finished as the fault-free run, its final version at every watcher and its endpoint. */
function checkJob(ctx: SimContext, job: JobPlan, clients: readonly Client[]): void {
  const { store, receivers, goneUrls } = ctx.fakes;
  const raw = store.raw(job);
  if (raw !== undefined && store.peek(job) === undefined) {
    // Idle past the retention (a clock jump): gone whole, as docs/operating.md says ("Expiry"); nothing else to check of it.
    return ctx.count("jobs expired whole (idle past the retention)");
  }
  const stored = store.read(job);
  if (stored === undefined || stored.isTorn) return ctx.violation(`${job.tenant}/${job.jobId} is ${stored === undefined ? "missing" : "still torn"} after settling`);
  const snapshot = renderSnapshot(stored.state);
  const version = stored.state.version;
  if (!isFinished(snapshot)) ctx.violation(`${job.tenant}/${job.jobId} did not finish (${snapshot.status})`);
  // Nothing lost, whatever the faults, the batches' sizes and the clock: the fault-free run's files, figures and status.
  const expected = renderSnapshot(foldEvents(job.jobId, job.events, 0));
  const contentOf = (s: Snapshot) => JSON.stringify({ status: s.status, files: s.progress_per_original_file.map((file) => [file.original_id, file.status ?? null]), indicators: s.indicators });
  if (contentOf(snapshot) !== contentOf(expected)) ctx.violation(`${job.tenant}/${job.jobId} differs from the fault-free run: ${contentOf(snapshot).slice(0, 300)} instead of ${contentOf(expected).slice(0, 300)}`);
  for (const client of clients.filter((c) => c.tenant === job.tenant && c.intended.has(job.jobId) && c.revokedAtMs === null)) {
    const where = `${client.name} (${client.connectionId}) on ${job.jobId}`;
    if (client.best.get(job.jobId) !== version) ctx.violation(`${where}: its last frame carries v${client.best.get(job.jobId) ?? "none"}, the final version is v${version}`);
    if (!client.finished.get(job.jobId)?.has(version)) ctx.violation(`${where}: job_finished of the final v${version} never arrived (got ${[...(client.finished.get(job.jobId) ?? [])].join(", ") || "none"})`);
    if (client.last.get(job.jobId) !== version) ctx.count("stale frame arrived last");
  }
  if (job.notifyUrl !== null && !goneUrls.has(job.notifyUrl)) {
    const delivered = receivers.attempts.filter((attempt) => attempt.url === job.notifyUrl && attempt.status === 200).map((attempt) => JSON.parse(attempt.body) as { type: string; data: Snapshot });
    const newest = delivered.reduce<(typeof delivered)[number] | null>((best, body) => (best === null || body.data.version > best.data.version ? body : best), null);
    if (newest?.data.version !== version || newest.type !== "job.finished" || newest.data.status !== snapshot.status) {
      ctx.violation(`webhook of ${job.tenant}/${job.jobId}: the newest body delivered is ${newest === null ? "none" : `${newest.type} v${newest.data.version}`}, the final version is v${version} (${snapshot.status})`);
    }
  }
}

/** Every webhook body to its own job's endpoint, within SQS's limit, and no retry to a gone endpoint. */
function checkWebhooks(ctx: SimContext): void {
  const { receivers, goneUrls, goneMarkedInBatch, batchOfAttempt, webhookQueue } = ctx.fakes;
  for (const attempt of receivers.attempts) {
    const [tenant, jobId] = new URL(attempt.url).pathname.slice(1).split("/");
    const body = JSON.parse(attempt.body) as { data: Snapshot };
    if (body.data.job_id !== jobId) ctx.violation(`webhook body of ${body.data.job_id} sent to ${attempt.url}`);
    checkTenant(ctx, tenant ?? "", body.data, `webhook to ${attempt.url}`);
  }
  for (const [url, markedIn] of goneMarkedInBatch) {
    const after = receivers.attempts.filter((attempt, index) => attempt.url === url && (batchOfAttempt[index] ?? Infinity) > markedIn).length;
    // Sender invocations overlap (and die mid-way), so a delivery that read the endpoint before it
    // was recorded gone may still reach it: counted, while no retry to it may be enqueued (below).
    if (after > 0) ctx.count("attempts to an endpoint after it was recorded gone (in flight)", after);
  }
  for (const delivery of webhookQueue.enqueuedDeliveries) {
    const bytes = Buffer.byteLength(JSON.stringify(delivery));
    if (bytes > SQS_MESSAGE_LIMIT) ctx.violation(`a webhook delivery of ${bytes} bytes, over SQS's limit (${delivery.webhook_id})`);
    if (goneUrls.has(delivery.url) && delivery.attempt > 1) ctx.violation(`a retry (attempt ${delivery.attempt}) of ${delivery.webhook_id} to ${delivery.url}, which answered 410 Gone`);
  }
}

/** Each tenant's job list, read page by page as the dashboard does, lists every job it has once (refused creates left nothing). */
async function checkJobLists(ctx: SimContext, jobs: readonly JobPlan[]): Promise<void> {
  const { store } = ctx.fakes;
  for (const tenant of TENANTS) {
    const listed: string[] = [];
    try {
      for (let cursor: string | null = null, pages = 0; pages === 0 || cursor !== null; pages++) {
        const page = await store.jobIndex.list(tenant, { limit: 2, cursor });
        listed.push(...page.jobs.map((job) => job.meta.jobId));
        cursor = page.nextCursor;
      }
    } catch (error) {
      ctx.violation(`the job list of ${tenant} failed: ${String(error)}`);
      continue;
    }
    const expected = jobs.filter((job) => job.tenant === tenant && store.peek(job) !== undefined).map((job) => job.jobId).sort();
    if (JSON.stringify([...listed].sort()) !== JSON.stringify(expected)) ctx.violation(`the job list of ${tenant} is ${listed.join(", ")}, its jobs are ${expected.join(", ")}`);
  }
}
