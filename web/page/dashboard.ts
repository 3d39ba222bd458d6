/**
 * The dashboard page: the tenant's recent jobs (polled), and one job watched live through the
 * subscriber client with its in-flight detail, beside its rejections and webhook log (polled).
 * The API key stays in this browser's localStorage and goes only to the configured API.
 */
import { EMPTY_HISTORY, recordPoint, type History } from "../../core/estimator/history.ts";
import { createSubscriber, type JobSnapshot, type Subscriber } from "../../sdk/client/index.ts";
import { ApiError, createApi, loadConfig, type RejectionList, type WebhookDeliveryList } from "./api.ts";
import { chartSvg } from "./chart.ts";
import { jobRows, jobView, rejectionsView, webhooksView } from "./render.ts";

const REFRESH_MS = 2_000;
const KEY_STORAGE = "headway.apiKey";

const element = (id: string) => document.getElementById(id)!;
const keyInput = element("api-key") as HTMLInputElement;
const notice = element("notice");

const config = await loadConfig();
const httpUrl = (config.http_url ?? location.origin).replace(/\/+$/, "");
const api = createApi(httpUrl, () => keyInput.value.trim());
keyInput.value = localStorage.getItem(KEY_STORAGE) ?? config.api_key ?? "";

interface Live {
  jobId: string;
  subscriber: Subscriber;
  snapshot: JobSnapshot | null;
  connection: string;
  rejections: RejectionList | null;
  webhooks: WebhookDeliveryList | null;
  /** The job's progress over time: the history a fetch brought, and each snapshot seen since. */
  history: History;
}
let live: Live | null = null;
let listedVersions = new Map<string, number>();

function say(message: string | null): void {
  notice.textContent = message ?? "";
  notice.hidden = message === null;
}

function selectedFromHash(): string | null {
  const match = /^#job=(.+)$/.exec(location.hash);
  return match === null ? null : decodeURIComponent(match[1]!);
}

// ------------------------------------------------------------ the job list

async function refreshList(): Promise<void> {
  if (keyInput.value.trim() === "") return say("Enter an API key to see the tenant's jobs.");
  try {
    const list = await api.jobs();
    say(null);
    listedVersions = new Map(list.jobs.map((job) => [job.job_id, job.version]));
    element("jobs").replaceChildren(...jobRows(list, live?.jobId ?? null, select));
  } catch (error) {
    // The sandbox's key changes with each in-memory start: offer it again when the stored one is refused.
    if (error instanceof ApiError && error.status === 401 && config.api_key !== undefined && keyInput.value.trim() !== config.api_key) {
      keyInput.value = config.api_key;
      localStorage.setItem(KEY_STORAGE, config.api_key);
      return refreshList();
    }
    say(`Could not list jobs: ${(error as Error).message}`);
  }
}

// ------------------------------------------------------------ the watched job

function select(jobId: string): void {
  if (location.hash !== `#job=${encodeURIComponent(jobId)}`) history.replaceState(null, "", `#job=${encodeURIComponent(jobId)}`);
  watch(jobId);
  void refreshList();
}

function watch(jobId: string | null): void {
  if (live?.jobId === jobId) return;
  live?.subscriber.close();
  live = null;
  if (jobId === null) return renderLive();
  const subscriber = createSubscriber({
    websocketUrl: config.websocket_url,
    httpUrl,
    // A subscriber token scoped to this one job, minted with the API key.
    getToken: () => api.token(jobId),
    onStateChange: (state, transport) => {
      if (live?.subscriber !== subscriber) return;
      live.connection = `${state}${transport === null ? "" : ` (${transport})`}`;
      renderLive();
    },
    onError: (error) => say(`Live view: ${error.message}`),
  });
  const watched: Live = { jobId, subscriber, snapshot: null, connection: "connecting", rejections: null, webhooks: null, history: EMPTY_HISTORY };
  live = watched;
  subscriber.subscribe(jobId, (snapshot) => show(watched, snapshot), { detail: true, onError: (error) => say(`Live view of ${jobId}: ${error.message}`) });
  renderLive();
  void refreshLive();
}

/** Keeps the newest version, whichever way it came (a frame, or a fetch after the list saw the job move). */
function show(watched: Live, snapshot: JobSnapshot): void {
  if (live !== watched) return;
  watched.history = historyWith(watched.history, snapshot);
  if (watched.snapshot !== null && snapshot.version < watched.snapshot.version) {
    // A fetch that a frame overtook: its history is still the job's past; the frame is its present.
    watched.history = historyWith(watched.history, { ...watched.snapshot, detail: undefined });
    return renderLive();
  }
  // A fetched snapshot always has its detail; a frame without one keeps the last detail known.
  watched.snapshot = snapshot.detail === undefined && watched.snapshot?.version === snapshot.version ? watched.snapshot : snapshot;
  renderLive();
}

async function refreshLive(): Promise<void> {
  const watched = live;
  if (watched === null || keyInput.value.trim() === "") return;
  // Frames come whenever the job changed (the live view asks for the detail); a fetch fills in when the list saw a later version first.
  const listed = listedVersions.get(watched.jobId);
  const fetchSnapshot = watched.snapshot === null || (listed !== undefined && listed > watched.snapshot.version) ? api.job(watched.jobId) : null;
  const [snapshot, rejections, webhooks] = await Promise.allSettled([fetchSnapshot, api.rejections(watched.jobId), api.webhooks(watched.jobId)]);
  if (live !== watched) return;
  if (snapshot.status === "fulfilled" && snapshot.value !== null) show(watched, snapshot.value);
  if (rejections.status === "fulfilled") watched.rejections = rejections.value;
  if (webhooks.status === "fulfilled") watched.webhooks = webhooks.value;
  const failed = [snapshot, rejections, webhooks].find((result) => result.status === "rejected");
  if (failed !== undefined) say(`Job ${watched.jobId}: ${(failed.reason as Error).message}`);
  renderLive();
}

/**
 * A fetched snapshot brings the job's own history, from its start (GET ?detail=true); each
 * snapshot after it adds the point it shows, thinned as the service thins it.
 */
function historyWith(history: History, snapshot: JobSnapshot): History {
  const fetched = snapshot.detail?.history;
  if (fetched !== undefined && fetched.length > 0) {
    let rebuilt = EMPTY_HISTORY;
    for (const point of fetched) rebuilt = recordPoint(rebuilt, { atMs: Date.parse(point.at), progress: point.progress, etaSeconds: point.eta_seconds });
    return rebuilt;
  }
  if (snapshot.updated_at === null) return history;
  return recordPoint(history, { atMs: Date.parse(snapshot.updated_at), progress: snapshot.progress_combined, etaSeconds: snapshot.eta_seconds });
}

function chartOf(watched: Live): Node {
  const { snapshot, history } = watched;
  if (history.points.length === 0) return document.createTextNode("No progress yet.");
  const isOver = snapshot !== null && ["completed", "failed", "cancelled"].includes(snapshot.status) && snapshot.updated_at !== null;
  return chartSvg({ points: history.points, nowMs: Date.now(), finishedAtMs: isOver ? Date.parse(snapshot!.updated_at!) : null });
}

function renderLive(): void {
  const section = element("live");
  section.hidden = live === null;
  if (live === null) return;
  element("job").replaceChildren(live.snapshot === null ? document.createTextNode(`Waiting for ${live.jobId}… (${live.connection})`) : jobView(live.snapshot, live.connection));
  element("chart").replaceChildren(chartOf(live));
  element("rejections").replaceChildren(rejectionsView(live.rejections));
  element("webhooks").replaceChildren(webhooksView(live.webhooks));
}

// ------------------------------------------------------------ wiring

element("key-form").addEventListener("submit", (event) => {
  event.preventDefault();
  localStorage.setItem(KEY_STORAGE, keyInput.value.trim());
  const jobId = live?.jobId ?? selectedFromHash();
  watch(null);
  watch(jobId);
  void refreshList();
});
window.addEventListener("hashchange", () => watch(selectedFromHash()));

async function tick(): Promise<void> {
  // A hidden tab polls nothing; the live view's connection stays open.
  if (document.visibilityState === "visible") {
    await refreshList();
    await refreshLive();
  }
  setTimeout(() => void tick(), REFRESH_MS);
}
watch(selectedFromHash());
void tick();
