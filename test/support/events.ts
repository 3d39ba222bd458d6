/** Terse builders for contract events in tests: every event gets a unique id and a rising time. */
import type { Event, EventOf } from "../../core/contract/events.ts";
import type { Plan } from "../../core/contract/plan.ts";

type Common = "v" | "type" | "job_id" | "event_id" | "at";
type Fields<T extends Event["type"]> = Omit<EventOf<T>, Common> & { event_id?: string; at?: string };

export function eventFactory(jobId = "job-1", startMs = Date.parse("2026-11-22T10:00:00.000Z")) {
  let sequence = 0;
  const make = <T extends Event["type"]>(type: T, fields: Fields<T>): EventOf<T> => {
    sequence++;
    const { event_id, at, ...rest } = fields;
    return {
      v: 1,
      type,
      job_id: jobId,
      event_id: event_id ?? `e${String(sequence).padStart(6, "0")}`,
      at: at ?? new Date(startMs + sequence * 1000).toISOString(),
      ...rest,
    } as unknown as EventOf<T>;
  };
  return {
    declared: (fields: Fields<"job.declared"> = {}) => make("job.declared", fields),
    plan: (steps: Plan["steps"], fields: Omit<Fields<"job.declared">, "plan"> = {}) => make("job.declared", { plan: { steps }, ...fields }),
    original: (original_id: string, mime?: string, fields: Partial<Fields<"original.added">> = {}) =>
      make("original.added", { original_id, ...(mime === undefined ? {} : { mime }), ...fields }),
    sealed: () => make("originals.sealed", {}),
    started: (step: string, original_id: string | undefined, attempt = 1, fields: Partial<Fields<"step.started">> = {}) =>
      make("step.started", { step, attempt, ...(original_id === undefined ? {} : { original_id }), ...fields }),
    progress: (step: string, original_id: string | undefined, progress: [number, number | null], fields: Partial<Fields<"step.progress">> = {}) =>
      make("step.progress", { step, attempt: 1, progress, ...(original_id === undefined ? {} : { original_id }), ...fields }),
    completed: (step: string, original_id: string | undefined, fields: Partial<Fields<"step.completed">> = {}) =>
      make("step.completed", { step, attempt: 1, result_count: 1, ...(original_id === undefined ? {} : { original_id }), ...fields }),
    failed: (step: string, original_id: string | undefined, will_retry: boolean, fields: Partial<Fields<"step.failed">> = {}) =>
      make("step.failed", { step, attempt: 1, error: "boom", will_retry, ...(original_id === undefined ? {} : { original_id }), ...fields }),
    added: (amount: number, task_id: string, fields: Partial<Fields<"indicator.added">> = {}) =>
      make("indicator.added", { amount, task_id, attempt: 1, ...fields }),
    done: (amount: number, task_id: string, fields: Partial<Fields<"indicator.done">> = {}) =>
      make("indicator.done", { amount, task_id, attempt: 1, ...fields }),
    reported: (task_id: string, added: number, done: number, fields: Partial<Fields<"indicator.reported">> = {}) =>
      make("indicator.reported", { task_id, attempt: 1, added, done, ...fields }),
    jobCompleted: () => make("job.completed", {}),
    jobFailed: (error = "gave up") => make("job.failed", { error }),
    jobCancelled: () => make("job.cancelled", {}),
  };
}

export const VIDEO_PLAN: Plan["steps"] = {
  ":original": { robot: "/upload/handle" },
  thumbs: { robot: "/video/thumbs", use: ":original", accepts: ["video/*"], results_per_input: 8, output_mime: "image/jpeg" },
  encoded: { robot: "/video/encode", use: ":original", accepts: ["video/*"] },
  resized: { robot: "/image/resize", use: ["thumbs", ":original"], accepts: ["image/*"] },
  unzipped: { robot: "/file/decompress", use: ":original", accepts: ["application/zip"], results_per_input: "unpredictable" },
  stored: { robot: "/s3/store", use: ["encoded", "resized"] },
  archive: { robot: "/file/compress", use: ["stored"], per: "job" },
};
