/**
 * What `headway watch` shows of a job, as data: a snapshot becomes the rows of the terminal view
 * (the combined figure, the slowest files, each label, the in-flight commands). Pure: no terminal,
 * no clock; bin/watch.ts draws these rows with cli-progress.
 */
import type { JobSnapshot } from "../sdk/client/index.ts";

export interface WatchRow {
  /** The left column (a file's id, a label, a command). */
  name: string;
  /** False for a line of text (a heading, "… and N more"). */
  hasBar: boolean;
  /** 0–100; null while the estimate is unknown (the bar stays empty). */
  percent: number | null;
  /** What follows the bar: counts, the ETA, a command's unit and message. */
  note: string;
}

export interface ViewOptions {
  /** File rows shown at most; the rest are counted in one "… and N more" row. */
  maxFiles?: number;
  /** In-flight commands shown at most. */
  maxInFlight?: number;
  /** The connection's state when it is not open ("reconnecting"), shown in the heading. */
  connection?: string | null;
}

/** What shows before the job's first snapshot arrives: never a blank screen. */
export function waitingRows(jobId: string, connection: string | null): WatchRow[] {
  return [
    { name: `job ${jobId}`, hasBar: false, percent: null, note: "" },
    { name: `waiting for the job's first snapshot (${connection ?? "connected"})…`, hasBar: false, percent: null, note: "" },
  ];
}

export function watchRows(snapshot: JobSnapshot, options: ViewOptions = {}): WatchRow[] {
  const maxFiles = options.maxFiles ?? 10;
  const maxInFlight = options.maxInFlight ?? 3;
  const heading = [snapshot.status, `ETA ${formatEta(snapshot.eta_seconds, snapshot.status)}`, ...(options.connection ? [options.connection] : [])].join(" · ");
  const rows: WatchRow[] = [{ name: `job ${snapshot.job_id}`, hasBar: false, percent: null, note: "" }, { name: "combined", hasBar: true, percent: snapshot.progress_combined, note: heading }];

  // The slowest first: an unknown estimate or a failure says the least about being done.
  const files = [...snapshot.progress_per_original_file].sort((a, b) => rank(a) - rank(b) || a.original_id.localeCompare(b.original_id));
  const shownFiles = files.length > maxFiles ? files.slice(0, maxFiles - 1) : files;
  for (const file of shownFiles) rows.push({ name: file.original_id, hasBar: true, percent: file.progress, note: file.status === "failed" ? `failed: ${file.error ?? "failed"}` : "" });
  if (shownFiles.length < files.length) rows.push({ name: `… and ${files.length - shownFiles.length} more files`, hasBar: false, percent: null, note: "" });

  for (const indicator of snapshot.indicators) {
    const percent = indicator.total > 0 ? Math.min(100, Math.floor((indicator.done / indicator.total) * 100)) : null;
    rows.push({ name: indicator.label ?? "tasks", hasBar: true, percent, note: `${formatCount(indicator.done)}/${formatCount(indicator.total)}` });
  }

  const inFlight = snapshot.detail?.in_flight ?? [];
  for (const execution of inFlight.slice(0, maxInFlight)) {
    const [current, total] = execution.progress ?? [null, null];
    const percent = current !== null && total !== null && total > 0 ? Math.min(100, Math.floor((current / total) * 100)) : null;
    const amount = current === null ? "" : `${formatCount(current)}${total === null ? "" : `/${formatCount(total)}`}${execution.unit ? ` ${execution.unit}` : ""}`;
    // A command of a job without files is known by its input alone.
    const on = execution.original_id ?? execution.input_id;
    const name = `▸ ${execution.step}${on === "" ? "" : ` ${on}`}`;
    const subStep = execution.step_index === null ? "" : `step ${execution.step_index[0] + 1}/${execution.step_index[1]}`;
    rows.push({ name, hasBar: true, percent, note: [amount, subStep, execution.message ?? ""].filter((part) => part !== "").join(" · ") });
  }
  const moreRunning = Math.max(inFlight.length, snapshot.detail?.in_flight_total ?? 0) - Math.min(inFlight.length, maxInFlight);
  if (moreRunning > 0) rows.push({ name: `… and ${moreRunning} more running`, hasBar: false, percent: null, note: "" });
  return rows;
}

/** Where a row sits among files: failed, then unknown, then by progress. */
function rank(file: JobSnapshot["progress_per_original_file"][number]): number {
  if (file.status === "failed") return -2;
  return file.progress ?? -1;
}

export function formatEta(seconds: number | null, status: JobSnapshot["status"]): string {
  if (status === "completed" || status === "failed" || status === "cancelled") return "done";
  if (seconds === null) return "unknown";
  const whole = Math.max(0, Math.round(seconds));
  if (whole < 60) return `${whole}s`;
  if (whole < 3600) return `${Math.floor(whole / 60)}m ${String(whole % 60).padStart(2, "0")}s`;
  return `${Math.floor(whole / 3600)}h ${String(Math.floor((whole % 3600) / 60)).padStart(2, "0")}m`;
}

function formatCount(value: number): string {
  return Number.isInteger(value) ? String(value) : value.toFixed(1);
}

/** One row as a line, around a bar drawn by the caller (cli-progress's `Format.BarFormat`). */
export function formatRow(row: WatchRow, bar: string, nameWidth = 24): string {
  const name = row.name.length > nameWidth ? `${row.name.slice(0, nameWidth - 1)}…` : row.name.padEnd(nameWidth);
  if (!row.hasBar) return row.name;
  const percent = row.percent === null ? "   ?%" : `${String(row.percent).padStart(4)}%`;
  return `${name} ${bar} ${percent}${row.note === "" ? "" : `  ${row.note}`}`;
}
