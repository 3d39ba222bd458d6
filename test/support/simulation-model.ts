/**
 * The delivery simulation's model (test/support/delivery-simulation.ts runs it): what a run
 * keeps (clients, job plans), the bugs it can plant, how a client takes a frame, and the
 * guarantees checked once it has settled.
 */
import type { Event, Message } from "../../core/contract/events.ts";
import type { Snapshot } from "../../core/contract/snapshot.ts";
import { foldEvents } from "../../core/estimator/reduce.ts";
import type { ChangeFeed } from "../../core/ports.ts";
import { isFinished } from "../../core/delivery/frames.ts";
import { renderSnapshot } from "../../core/estimator/snapshot.ts";
import type { createFakeJobStore, createFakeReceivers, createFakeWebhookQueue } from "./fakes.ts";

/** API Gateway's limit on a WebSocket frame, and SQS's on a message. */
export const GATEWAY_FRAME_LIMIT = 128 * 1024;
export const SQS_MESSAGE_LIMIT = 256 * 1024;

/** Where a run's findings go. */
export interface Report {
  violation(line: string): void;
  count(what: string, n?: number): void;
  note(line: string): void;
}

/** Bugs planted to show that the simulation catches them. */
export type Plant =
  | "marker-only-when-version-moved"
  | "finished-claimed-before-post"
  | "clear-ignores-version"
  /** Subscriber tokens of a revoked key keep working (tokens that named no key). */
  | "revocation-ignored"
  /** Each part expires by its own last write, not by the job's last activity. */
  | "parts-expire-by-own-write"
  /** A refused create leaves an index entry, and the list asks for a job's head twice. */
  | "refused-create-indexed"
  /** A large reducer batch acknowledges messages past its eighth that it never applied. */
  | "large-batch-acks-unapplied";

export interface SimOptions {
  plant?: Plant;
  trace?: boolean;
}

export interface SimResult {
  violations: string[];
  trace: string[];
  stats: Record<string, number>;
}

export interface JobEventFrame {
  event: string;
  job_id?: string;
  code?: string;
  data?: Snapshot;
  events?: JobEventFrame[];
}

export interface Life {
  isDead: boolean;
}

export interface Client {
  name: string;
  tenant: string;
  /** The API key its token was minted with, and when that key was revoked (null: never). */
  keyId: string;
  revokedAtMs: number | null;
  token: string;
  scope: string[];
  connectionId: string | null;
  connections: number;
  /** Jobs the client wants to watch, and those the server confirmed on the current connection. */
  intended: Set<string>;
  confirmed: Set<string>;
  /** `subscribed` and `unsubscribed` answers that arrived on the current connection, not yet taken as confirmations. */
  acks: Set<string>;
  /**
   * Jobs whose unsubscribe was confirmed on this connection: their frames are ignored until the
   * client subscribes again. Until then (an unsubscribe that failed may or may not have been
   * applied) a client keeps what it receives: the server sends `job_finished` once per
   * subscription, so a client that dropped it could not expect it again.
   */
  dropped: Set<string>;
  /** Per job, the highest version received on the current connection (clients drop older ones by `version`), and the versions of `job_finished` received. */
  best: Map<string, number>;
  finished: Map<string, Set<number>>;
  /** Per job, the version of the frame that arrived last (a stale one may come after a newer). */
  last: Map<string, number>;
  /** The invocation serving the client's request in flight. */
  inFlight: Life | null;
}

export interface JobPlan {
  tenant: string;
  jobId: string;
  messages: { body: Message; omitTenant: boolean }[];
  notifyUrl: string | null;
  /** Every event of the job (its declaration included): the fault-free run's state is their fold. */
  events: Event[];
}

/** What the guarantees are checked against. */
export interface World {
  jobs: readonly JobPlan[];
  clients: readonly Client[];
  store: ReturnType<typeof createFakeJobStore>;
  receivers: ReturnType<typeof createFakeReceivers>;
  webhookQueue: ReturnType<typeof createFakeWebhookQueue>;
  goneUrls: ReadonlySet<string>;
  /** Per endpoint found gone, the sender batch that recorded it; per attempt, the batch that made it. */
  goneMarkedInBatch: ReadonlyMap<string, number>;
  batchOfAttempt: readonly number[];
}

/** Every original and label of a tenant's job is named after the tenant. */
export function checkTenant(report: Report, tenant: string, snapshot: Snapshot | undefined, where: string): void {
  if (snapshot === undefined) return report.violation(`${where}: an event without a snapshot`);
  const names = [...snapshot.progress_per_original_file.map((file) => file.original_id), ...snapshot.indicators.map((indicator) => indicator.label ?? "")];
  // A job that exists undeclared (its creation stored, the declaration's write not) names nothing yet.
  if (names.length === 0) report.count("snapshots of undeclared jobs");
  if (names.some((name) => !name.startsWith(`${tenant}-`))) report.violation(`${where}: crosses tenants (${tenant} was sent ${snapshot.job_id} v${snapshot.version} ${snapshot.status} naming ${names.join(", ") || "nothing"})`);
}

/** A frame reaching a client: checked (size, tenant, scope) and taken as the client takes it. */
export function receiveFrame(report: Report & { closeConnection(connectionId: string): void }, client: Client, connectionId: string, body: string): void {
  report.count("frames");
  if (Buffer.byteLength(body) > GATEWAY_FRAME_LIMIT) report.violation(`a frame of ${Buffer.byteLength(body)} bytes to ${connectionId}`);
  if (client.connectionId !== connectionId) return;
  const frame = JSON.parse(body) as JobEventFrame;
  for (const event of frame.event === "batch" ? (frame.events ?? []) : [frame]) {
    const jobId = event.job_id ?? "";
    if (event.event === "subscribed" || event.event === "unsubscribed") client.acks.add(`${event.event} ${jobId}`);
    else if (event.event === "error" && event.code === "unknown_connection") {
      report.note(`${client.name} learns its connection is forgotten and closes it`);
      report.count("connections forgotten while open (the client learnt it from an error)");
      report.closeConnection(connectionId);
    } else if (event.event === "assembly_execution_progress" || event.event === "job_finished") {
      checkTenant(report, client.tenant, event.data, `frame to ${client.name}`);
      if (!client.scope.includes(jobId)) report.violation(`${client.name} got ${jobId}, outside its token's scope`);
      if (client.dropped.has(jobId)) continue;
      if (event.data !== undefined && "files_page" in event.data) report.count("paged frames");
      const version = event.data?.version ?? -1;
      client.best.set(jobId, Math.max(version, client.best.get(jobId) ?? -1));
      client.last.set(jobId, version);
      if (event.event === "job_finished") {
        if (!client.finished.has(jobId)) client.finished.set(jobId, new Set());
        client.finished.get(jobId)!.add(version);
      }
    }
  }
}

/** A client with its token, before its first connection. */
export function newClient(name: string, tenant: string, scope: string[], token: string, keyId: string): Client {
  return {
    name,
    tenant,
    keyId,
    revokedAtMs: null,
    scope,
    token,
    connectionId: null,
    connections: 0,
    intended: new Set(scope),
    confirmed: new Set(),
    acks: new Set(),
    dropped: new Set(),
    best: new Map(),
    finished: new Map(),
    last: new Map(),
    inFlight: null,
  };
}

/** After the run has settled: what DESIGN §5 promises, checked against what the clients and receivers got. */
export function checkGuarantees(report: Report, world: World): void {
  const { jobs, clients, store, receivers, goneUrls, goneMarkedInBatch, batchOfAttempt, webhookQueue } = world;
  for (const job of jobs) {
    const raw = store.raw(job);
    if (raw !== undefined && store.peek(job) === undefined) {
      // Idle past the retention (a clock jump): gone whole, as DESIGN §4 says; nothing else to check of it.
      report.count("jobs expired whole (idle past the retention)");
      continue;
    }
    const stored = store.read(job);
    if (stored === undefined || stored.isTorn) {
      report.violation(`${job.tenant}/${job.jobId} is ${stored === undefined ? "missing" : "still torn"} after settling`);
      continue;
    }
    const snapshot = renderSnapshot(stored.state);
    const version = stored.state.version;
    if (!isFinished(snapshot)) report.violation(`${job.tenant}/${job.jobId} did not finish (${snapshot.status})`);
    // Nothing lost, whatever the faults, the batches' sizes and the clock: the fault-free run's files, figures and status.
    const expected = renderSnapshot(foldEvents(job.jobId, job.events, 0));
    const contentOf = (s: Snapshot) => JSON.stringify({ status: s.status, files: s.progress_per_original_file.map((file) => [file.original_id, file.status ?? null]), indicators: s.indicators });
    if (contentOf(snapshot) !== contentOf(expected)) report.violation(`${job.tenant}/${job.jobId} differs from the fault-free run: ${contentOf(snapshot).slice(0, 300)} instead of ${contentOf(expected).slice(0, 300)}`);
    for (const client of clients.filter((c) => c.tenant === job.tenant && c.intended.has(job.jobId) && c.revokedAtMs === null)) {
      const where = `${client.name} (${client.connectionId}) on ${job.jobId}`;
      if (client.best.get(job.jobId) !== version) report.violation(`${where}: its last frame carries v${client.best.get(job.jobId) ?? "none"}, the final version is v${version}`);
      if (!client.finished.get(job.jobId)?.has(version)) report.violation(`${where}: job_finished of the final v${version} never arrived (got ${[...(client.finished.get(job.jobId) ?? [])].join(", ") || "none"})`);
      if (client.last.get(job.jobId) !== version) report.count("stale frame arrived last");
    }
    if (job.notifyUrl !== null && !goneUrls.has(job.notifyUrl)) {
      const delivered = receivers.attempts.filter((attempt) => attempt.url === job.notifyUrl && attempt.status === 200).map((attempt) => JSON.parse(attempt.body) as { type: string; data: Snapshot });
      const newest = delivered.reduce<(typeof delivered)[number] | null>((best, body) => (best === null || body.data.version > best.data.version ? body : best), null);
      if (newest?.data.version !== version || newest.type !== "job.finished" || newest.data.status !== snapshot.status) {
        report.violation(`webhook of ${job.tenant}/${job.jobId}: the newest body delivered is ${newest === null ? "none" : `${newest.type} v${newest.data.version}`}, the final version is v${version} (${snapshot.status})`);
      }
    }
  }
  for (const client of clients.filter((c) => c.revokedAtMs !== null)) {
    if (client.connectionId !== null) report.violation(`${client.name}: its key was revoked, yet its connection ${client.connectionId} is still open after settling`);
  }
  for (const attempt of receivers.attempts) {
    const [tenant, jobId] = new URL(attempt.url).pathname.slice(1).split("/");
    const body = JSON.parse(attempt.body) as { data: Snapshot };
    if (body.data.job_id !== jobId) report.violation(`webhook body of ${body.data.job_id} sent to ${attempt.url}`);
    checkTenant(report, tenant ?? "", body.data, `webhook to ${attempt.url}`);
  }
  for (const [url, markedIn] of goneMarkedInBatch) {
    const after = receivers.attempts.filter((attempt, index) => attempt.url === url && (batchOfAttempt[index] ?? Infinity) > markedIn).length;
    // Sender invocations overlap (and die mid-way), so a delivery that read the endpoint before it
    // was recorded gone may still reach it: counted, while no retry to it may be enqueued (below).
    if (after > 0) report.count("attempts to an endpoint after it was recorded gone (in flight)", after);
  }
  for (const delivery of webhookQueue.enqueuedDeliveries) {
    const bytes = Buffer.byteLength(JSON.stringify(delivery));
    if (bytes > SQS_MESSAGE_LIMIT) report.violation(`a webhook delivery of ${bytes} bytes, over SQS's limit (${delivery.webhook_id})`);
    if (goneUrls.has(delivery.url) && delivery.attempt > 1) report.violation(`a retry (attempt ${delivery.attempt}) of ${delivery.webhook_id} to ${delivery.url}, which answered 410 Gone`);
  }
}

/** A clear that takes away whatever marker the job has, a later announcement included (ticks clear while the next tick runs). */
export function clearIgnoringVersion(feed: ChangeFeed): ChangeFeed {
  return { ...feed, clearChanged: (job) => feed.clearChanged(job, Number.MAX_SAFE_INTEGER) };
}

/** The planted bug the issue names: the marker written only when the version moved, so a redelivered batch never announces what a lost marker missed. */
export function markerOnlyWhenVersionMoved(feed: ChangeFeed): ChangeFeed {
  const announced = new Map<string, number>();
  return {
    ...feed,
    async markChanged(changes, nowMs) {
      const moved = changes.filter(({ meta, version }) => {
        const key = `${meta.tenant}#${meta.jobId}#${meta.incarnation}`;
        if ((announced.get(key) ?? -1) >= version) return false;
        announced.set(key, version);
        return true;
      });
      return feed.markChanged(moved, nowMs);
    },
  };
}
