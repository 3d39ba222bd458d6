/**
 * `headway watch JOB`: a job's progress live in the terminal (bars drawn by cli-progress), or one
 * JSON snapshot per line when stdout is not a terminal or with `--json`. Exits 0 when the job
 * completes, 1 when it fails or is cancelled, 130 on Ctrl-C. It only reads: it never sends events.
 */
import { existsSync, readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import cliProgress from "cli-progress";
import { ErrorBody, TokenResponse } from "../core/contract/http.ts";
import { createSubscriber, type JobSnapshot } from "../sdk/client/index.ts";
import { usageOf } from "./usage.ts";
import { formatRow, waitingRows, watchRows, type WatchRow } from "./watch-view.ts";

const SANDBOX_URL = "http://127.0.0.1:8787";
const SANDBOX_KEY_FILE = ".headway/dev-api-key";

export async function watch(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    options: { url: { type: "string" }, "api-key": { type: "string" }, json: { type: "boolean", default: false } },
    allowPositionals: true,
  });
  const jobId = positionals[0];
  if (jobId === undefined || positionals.length > 1) {
    process.stderr.write(`headway watch: give one JOB id\n${usageOf("watch")}`);
    return 2;
  }
  const httpUrl = (values.url ?? process.env.HEADWAY_URL ?? SANDBOX_URL).replace(/\/+$/, "");
  const apiKey = values["api-key"] ?? process.env.HEADWAY_API_KEY ?? (existsSync(SANDBOX_KEY_FILE) ? readFileSync(SANDBOX_KEY_FILE, "utf8").trim() : undefined);
  if (apiKey === undefined || apiKey === "") {
    process.stderr.write(`headway watch: no API key: give --api-key KEY or set HEADWAY_API_KEY (the sandbox keeps its key in ${SANDBOX_KEY_FILE})\n`);
    return 2;
  }

  const mint = () => mintToken(httpUrl, apiKey, jobId);
  let first: TokenResponse;
  try {
    first = await mint();
  } catch (error) {
    process.stderr.write(`headway watch: ${(error as Error).message}\n`);
    return 1;
  }

  const isJson = values.json || !process.stdout.isTTY;
  const view = isJson ? jsonView() : barsView(jobId);
  let firstToken: string | null = first.token;
  const subscriber = createSubscriber({
    websocketUrl: first.websocket_url,
    httpUrl,
    // The first token was minted above (it proved the key and the job); later ones on demand, before each expires.
    getToken: async () => {
      const token = firstToken ?? (await mint()).token;
      firstToken = null;
      return token;
    },
    onStateChange: (state) => state !== "closed" && view.connection(state === "open" ? null : state),
    onError: (error) => view.notice(`${error.code}: ${error.message}`),
  });

  const exitCode = await new Promise<number>((resolve) => {
    const onInterrupt = () => resolve(130);
    process.once("SIGINT", onInterrupt);
    process.once("SIGTERM", onInterrupt);
    subscriber.subscribe(jobId, (snapshot) => view.show(snapshot), {
      detail: true,
      onFinished: (snapshot) => {
        view.show(snapshot);
        resolve(snapshot.status === "completed" ? 0 : 1);
      },
      onError: (error) => {
        view.notice(`${error.code}: ${error.message}`);
        resolve(1);
      },
    });
  });
  view.stop();
  subscriber.close();
  const final = view.last();
  if (exitCode === 130) process.stderr.write(`headway watch: stopped watching ${jobId} (the job goes on)\n`);
  else if (final !== null && final.status !== "completed") process.stderr.write(`${describeFailure(final)}\n`);
  else if (final !== null && !isJson) process.stdout.write(`job ${jobId} completed\n`);
  return exitCode;
}

/** `POST /v1/tokens` for the one job: the token and where to use it. Throws an Error with a message for a person. */
async function mintToken(httpUrl: string, apiKey: string, jobId: string): Promise<TokenResponse> {
  let response: Response;
  try {
    response = await fetch(`${httpUrl}/v1/tokens`, {
      method: "POST",
      headers: { authorization: `Bearer ${apiKey}`, "content-type": "application/json" },
      body: JSON.stringify({ job_ids: [jobId] }),
    });
  } catch (error) {
    const cause = (error as Error).cause as { code?: string; message?: string } | undefined;
    const reason = cause?.code ?? cause?.message ?? (error as Error).message;
    throw new Error(`cannot reach ${httpUrl} (${reason}); is the sandbox running (npm start), or give --url / HEADWAY_URL`);
  }
  const body: unknown = await response.json().catch(() => null);
  if (response.status === 201) {
    const parsed = TokenResponse.safeParse(body);
    if (parsed.success) return parsed.data;
    throw new Error(`${httpUrl} answered POST /v1/tokens with an unexpected body: ${parsed.error.issues[0]?.message}`);
  }
  const error = ErrorBody.safeParse(body);
  const detail = error.success ? `${error.data.error.code}: ${error.data.error.message}` : `HTTP ${response.status}`;
  if (response.status === 401) throw new Error(`the API key was refused (${detail}); give --api-key or HEADWAY_API_KEY`);
  if (response.status === 404) throw new Error(`no job ${jobId} (${detail})`);
  throw new Error(`POST /v1/tokens failed (${detail})`);
}

function describeFailure(snapshot: JobSnapshot): string {
  const lines = [`job ${snapshot.job_id} ${snapshot.status}${snapshot.error === undefined ? "" : `: ${snapshot.error}`}`];
  for (const file of snapshot.progress_per_original_file) if (file.status === "failed") lines.push(`  ${file.original_id} failed: ${file.error ?? "failed"}`);
  return lines.join("\n");
}

interface View {
  show(snapshot: JobSnapshot): void;
  connection(state: string | null): void;
  notice(message: string): void;
  stop(): void;
  last(): JobSnapshot | null;
}

/** For scripts: each snapshot as one line of JSON on stdout; notices on stderr. */
function jsonView(): View {
  let last: JobSnapshot | null = null;
  return {
    show(snapshot) {
      if (last !== null && snapshot.version === last.version) return;
      last = snapshot;
      process.stdout.write(`${JSON.stringify(snapshot)}\n`);
    },
    connection() {},
    notice: (message) => process.stderr.write(`headway watch: ${message}\n`),
    stop() {},
    last: () => last,
  };
}

/**
 * For a person: one bar per row of watchRows, redrawn in place by cli-progress's MultiBar. The
 * bars are slots: slot i shows row i of the latest snapshot, so the rows can reorder (the slowest
 * files first) without the library having to move bars.
 */
function barsView(jobId: string): View {
  const multibar = new cliProgress.MultiBar({
    format: (options, params, payload: { row: WatchRow }) => formatRow(payload.row, cliProgress.Format.BarFormat(params.progress, options)),
    barsize: 30,
    hideCursor: true,
    autopadding: false,
    linewrap: false,
    clearOnComplete: false,
    stopOnComplete: false,
    fps: 10,
  }, cliProgress.Presets.shades_classic);
  const bars: cliProgress.SingleBar[] = [];
  let last: JobSnapshot | null = null;
  let connection: string | null = "connecting";
  const draw = () => {
    const rows = last === null ? waitingRows(jobId, connection) : watchRows(last, { connection });
    while (bars.length > rows.length) multibar.remove(bars.pop()!);
    rows.forEach((row, index) => {
      const bar = bars[index];
      if (bar === undefined) bars.push(multibar.create(100, row.percent ?? 0, { row }));
      else bar.update(row.percent ?? 0, { row });
    });
  };
  draw();
  return {
    show(snapshot) {
      last = snapshot;
      draw();
    },
    connection(state) {
      connection = state;
      draw();
    },
    notice: (message) => multibar.log(`${message}\n`),
    stop: () => multibar.stop(),
    last: () => last,
  };
}
