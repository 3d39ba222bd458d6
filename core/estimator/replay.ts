/**
 * `headway replay`: folds an NDJSON event log (one event or envelope per line, any number of
 * jobs) into each job's state, committing after every line as the reducer commits after every
 * batch, so that the displayed values come out as the service would have shown them.
 * The clock of a replay is the log's own: a line commits at the latest `at` it carries.
 */
import type { Snapshot } from "../contract/snapshot.ts";
import { HeadwayError } from "../errors.ts";
import { reduce } from "./reduce.ts";
import { parseMessageBody } from "../contract/ingest.ts";
import { isNotice } from "../contract/rejection.ts";
import { renderSnapshot } from "./snapshot.ts";
import { createJobState, type JobState } from "./state.ts";

export interface Replay {
  /** Applies one line; throws a HeadwayError naming the line and the field when it is invalid. */
  applyLine(text: string, lineNumber: number): void;
  snapshots(options?: { detail?: boolean }): Snapshot[];
  jobs: Map<string, JobState>;
}

export function createReplay(options: { onNotice?: (message: string) => void } = {}): Replay {
  const jobs = new Map<string, JobState>();
  return {
    jobs,
    applyLine(text, lineNumber) {
      if (text.trim() === "") return;
      // The queue's parser, so a line is refused for the same reason, naming the same field, as the message would be.
      const parsed = parseMessageBody(text);
      const invalid = parsed.rejections[0];
      if (invalid !== undefined) {
        throw new HeadwayError(invalid.code, `line ${lineNumber}: ${invalid.message}`, { issues: [...(invalid.fields ?? [])] });
      }
      const { events } = parsed;
      const jobId = events[0]!.job_id;
      let state = jobs.get(jobId);
      if (state === undefined) {
        state = createJobState(jobId);
        jobs.set(jobId, state);
      }
      let lineTime = state.updatedAtMs ?? 0;
      for (const event of events) lineTime = Math.max(lineTime, Date.parse(event.at));
      const { rejections } = reduce(state, events, lineTime);
      for (const rejection of rejections) {
        const message = `line ${lineNumber}: ${rejection.code}: ${rejection.message}`;
        if (!isNotice(rejection.code)) throw new HeadwayError(rejection.code, message);
        options.onNotice?.(message);
      }
    },
    snapshots(options = {}) {
      return [...jobs.values()].map((state) => renderSnapshot(state, { ...options, history: options.detail }));
    },
  };
}
