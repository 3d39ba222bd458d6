/**
 * `headway replay`: folds an NDJSON event log (one event or envelope per line, any number of
 * jobs) into each job's state, committing after every line as the reducer commits after every
 * batch, so that the displayed values come out as the service would have shown them.
 * The clock of a replay is the log's own: a line commits at the latest `at` it carries.
 */
import type { Snapshot } from "./contract.ts";
import { HeadwayError } from "./errors.ts";
import { parseMessageBody } from "./ingest.ts";
import { applyEvents, commit } from "./estimator.ts";
import { renderSnapshot } from "./snapshot.ts";
import { createJobState, type JobState } from "./state.ts";

export interface Replay {
  /** Applies one line; throws a HeadwayError naming the line and the field when it is invalid. */
  applyLine(text: string, lineNumber: number): void;
  snapshots(options?: { detail?: boolean }): Snapshot[];
  jobs: Map<string, JobState>;
}

export function createReplay(): Replay {
  const jobs = new Map<string, JobState>();
  return {
    jobs,
    applyLine(text, lineNumber) {
      if (text.trim() === "") return;
      // The queue's parser, so a line is refused for the same reason, naming the same field, as the message would be.
      const parsed = parseMessageBody(text);
      const invalid = parsed.rejections[0];
      if (invalid !== undefined) {
        throw new HeadwayError("invalid_input", invalid.code, `line ${lineNumber}: ${invalid.message}`, { issues: [...(invalid.fields ?? [])] });
      }
      const { events } = parsed;
      const jobId = events[0]!.job_id;
      let state = jobs.get(jobId);
      if (state === undefined) {
        state = createJobState(jobId);
        jobs.set(jobId, state);
      }
      const rejections = applyEvents(state, events);
      if (rejections.length > 0) {
        throw new HeadwayError("invalid_input", rejections[0]!.code, `line ${lineNumber}: ${rejections[0]!.message}`);
      }
      let lineTime = state.updatedAtMs ?? 0;
      for (const event of events) lineTime = Math.max(lineTime, Date.parse(event.at));
      commit(state, lineTime);
    },
    snapshots(options = {}) {
      return [...jobs.values()].map((state) => renderSnapshot(state, options));
    },
  };
}
