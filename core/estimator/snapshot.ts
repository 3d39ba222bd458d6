/**
 * Renders a job's state as the wire snapshot (docs/http-api.md): the displayed (monotone) values,
 * with the true estimate beside them in the opt-in detail view. Reads the state, never changes it.
 */
import type { FileProgress, HistoryEntry, InFlightExecution, JobStatus, Snapshot, SnapshotDetail } from "../contract/snapshot.ts";
import type { HistoryPoint } from "./history.ts";
import { indicatorValues } from "./indicators.ts";
import { combinedEstimate, fileProgress, isUploadComplete, rootOf, totalsOf } from "./progress.ts";
import { estimateBucket, tallyExecutions, type StepCount } from "./estimate.ts";
import { allExecutions, type Executions } from "./executions.ts";
import { UNKNOWN_MIME } from "./plan.ts";
import { COMPLETED, FAILED, RUNNING, type Execution } from "./executions.ts";
import { type JobState } from "./state.ts";

export interface RenderOptions {
  detail?: boolean;
  /** A page of the detail's in-flight executions (the most recently reported first); all of them without it. */
  inFlightPage?: { index: number; perPage: number };
  /** The detail carries the progress history (GET and replay do; frames, sent every tick, do not). */
  history?: boolean;
}

export function jobStatus(state: JobState): JobStatus {
  if (state.terminal !== null) return state.terminal.status;
  if (state.hasWork) return "executing";
  if (totalsOf(state).originals > 0 || state.seal !== null) return isUploadComplete(state) ? "executing" : "uploading";
  return "declared";
}

function shown(truth: number | null, displayed: number): number | null {
  return truth === null ? null : Math.max(truth, displayed);
}

function fileEntries(state: JobState, value: (truth: number | null, displayed: number) => number | null): FileProgress[] {
  const ids = [...state.originals.values()].filter((record) => record.isOriginal).map((original) => original.id).sort();
  return ids.map((id) => {
    const original = state.originals.get(id)!;
    const entry: FileProgress = { original_id: id, progress: value(fileProgress(state, original), original.displayed) };
    if (original.estimate.isFailed) {
      entry.status = "failed";
      entry.error = original.estimate.error ?? "failed";
    }
    return entry;
  });
}

export function renderSnapshot(state: JobState, options: RenderOptions = {}): Snapshot {
  const combined = combinedEstimate(state);
  const snapshot: Snapshot = {
    v: 1,
    job_id: state.jobId,
    status: jobStatus(state),
    version: state.version,
    progress_combined: shown(combined.percent, state.displayedCombined),
    progress_per_original_file: fileEntries(state, shown),
    indicators: indicatorValues(state),
    eta_seconds: combined.percent === null ? null : state.eta.seconds,
    updated_at: state.updatedAtMs === null ? null : new Date(state.updatedAtMs).toISOString(),
  };
  if (state.terminal?.error != null) snapshot.error = state.terminal.error;
  if (options.detail === true) {
    snapshot.detail = renderDetail(state, combined.percent, options.inFlightPage);
    if (options.history === true) snapshot.detail.history = state.history.points.map(historyEntry);
  }
  return snapshot;
}

function historyEntry(point: HistoryPoint): HistoryEntry {
  return { at: new Date(point.atMs).toISOString(), progress: point.progress, eta_seconds: point.etaSeconds };
}

function renderDetail(state: JobState, truePercent: number | null, page: RenderOptions["inFlightPage"]): SnapshotDetail {
  const steps = new Map<string, { scope: "original" | "job"; predicted: number | null; completed: number; failed: number; in_flight: number }>();
  const addCounts = (counts: StepCount[]) => {
    for (const { step, predicted, tally } of counts) {
      const row = steps.get(step.name) ?? { scope: step.kind === "per-input" || step.kind === "per-original" ? "original" : "job", predicted: 0, completed: 0, failed: 0, in_flight: 0 };
      row.predicted = row.predicted === null || predicted === null ? null : row.predicted + Math.max(predicted, tally.completed + tally.failed + tally.inFlight);
      row.completed += tally.completed;
      row.failed += tally.failed;
      row.in_flight += tally.inFlight;
      steps.set(step.name, row);
    }
  };
  if (state.compiled !== null) {
    // Executions tied to no original: each is its own prediction, matched (step by step here)
    // with the job's own predictions of work on results that name no original.
    const loose = new Map<string, number>();
    for (const original of state.originals.values()) {
      const counts: StepCount[] = [];
      if (original.isOriginal) estimateBucket(state.compiled, rootOf(state, original), original.executions, counts);
      else {
        const tallies = tallyExecutions(state.compiled, original.executions);
        for (const step of state.compiled.steps) {
          const tally = tallies[step.index];
          if (tally === undefined) continue;
          const count = tally.completed + tally.failed + tally.inFlight;
          loose.set(step.name, (loose.get(step.name) ?? 0) + count);
          counts.push({ step, predicted: count, tally });
        }
      }
      addCounts(counts);
    }
    const counts: StepCount[] = [];
    estimateBucket(state.compiled, { kind: "job", mime: UNKNOWN_MIME, entersAt: ":original" }, state.jobExecutions, counts);
    for (const count of counts) {
      if (count.step.kind !== "per-input" || count.predicted === null) continue;
      const { tally } = count;
      const unreported = Math.max(0, count.predicted - tally.completed - tally.failed - tally.inFlight);
      count.predicted -= Math.min(unreported, loose.get(count.step.name) ?? 0);
    }
    addCounts(counts);
  }
  return {
    true_progress_combined: truePercent,
    true_progress_per_original_file: fileEntries(state, (truth) => truth),
    steps: [...steps]
      .sort(([a], [b]) => (state.compiled?.byName.get(a)?.index ?? 0) - (state.compiled?.byName.get(b)?.index ?? 0))
      .map(([step, row]) => ({
      step,
      ...row,
      predicted: row.predicted === null ? null : Math.round(row.predicted * 1000) / 1000,
    })),
    ...inFlightPage(renderInFlight(state), page),
  };
}

function inFlightPage(inFlight: InFlightExecution[], page: RenderOptions["inFlightPage"]): Pick<SnapshotDetail, "in_flight" | "in_flight_total"> {
  const shown = page === undefined ? inFlight : inFlight.slice(page.index * page.perPage, (page.index + 1) * page.perPage);
  return { in_flight: shown, in_flight_total: inFlight.length };
}

/** One page of the snapshot's per-file list (`GET /v1/jobs/{id}?files_page=`); the rest stays whole. */
export function pageOfFiles(snapshot: Snapshot, index: number, perPage: number): Snapshot & { files_page: { index: number; count: number; total_files: number } } {
  const files = snapshot.progress_per_original_file;
  return {
    ...snapshot,
    progress_per_original_file: files.slice(index * perPage, (index + 1) * perPage),
    files_page: { index, count: Math.ceil(files.length / perPage), total_files: files.length },
  };
}

/** When an in-flight execution last reported: its latest progress report, or its first report while it sent none. */
const reportedAtMs = (execution: Execution) => execution.report?.atMs ?? execution.firstAtMs;

/**
 * The executions running or not yet reported finished, in Golem's shape with the producer's time
 * of their report (`at`): the most recently reported first (then by step and input id), so that
 * the first page, a frame's 100, shows what moved last.
 */
export function renderInFlight(state: JobState): InFlightExecution[] {
  const inFlight: Execution[] = [];
  const collect = (executions: Executions) => {
    for (const execution of allExecutions(executions)) if (execution.status !== COMPLETED && execution.status !== FAILED) inFlight.push(execution);
  };
  for (const original of state.originals.values()) collect(original.executions);
  collect(state.jobExecutions);
  inFlight.sort((a, b) => {
    const byTime = (reportedAtMs(b) ?? -Infinity) - (reportedAtMs(a) ?? -Infinity);
    if (byTime !== 0 && !Number.isNaN(byTime)) return byTime;
    return a.step === b.step ? (a.inputId < b.inputId ? -1 : a.inputId > b.inputId ? 1 : 0) : a.step < b.step ? -1 : 1;
  });
  return inFlight.map((execution) => {
    const atMs = reportedAtMs(execution);
    return {
      step: execution.step,
      input_id: execution.inputId,
      original_id: execution.originalId,
      attempt: execution.attempt,
      step_index: execution.report?.stepIndex ?? null,
      progress: execution.status === RUNNING && execution.report !== null ? [execution.report.current, execution.report.total] : null,
      unit: execution.report?.unit ?? null,
      message: execution.report?.message ?? null,
      at: atMs === null ? null : new Date(atMs).toISOString(),
    };
  });
}
