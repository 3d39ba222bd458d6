/**
 * The WebSocket protocol (DESIGN §3.5) and the ticker's decisions, as data: what a client may
 * send, what the server sends, and which frame each connection gets in one tick. No I/O here.
 */
import { z } from "zod";
import { Id, type Snapshot } from "./contract.ts";
import type { ErrorCode } from "./errors.ts";

export const ClientMessage = z.discriminatedUnion("action", [
  z.object({ action: z.literal("subscribe"), job_id: Id }),
  z.object({ action: z.literal("unsubscribe"), job_id: Id }),
  z.object({ action: z.literal("ping") }),
]);
export type ClientMessage = z.infer<typeof ClientMessage>;

export type JobEvent =
  | { event: "assembly_execution_progress"; job_id: string; data: Snapshot }
  | { event: "job_finished"; job_id: string; data: Snapshot };

export type ServerFrame =
  | { v: 1; event: "subscribed"; job_id: string }
  | { v: 1; event: "unsubscribed"; job_id: string }
  | { v: 1; event: "pong" }
  | { v: 1; event: "error"; code: ErrorCode; message: string }
  | ({ v: 1 } & JobEvent)
  | { v: 1; event: "batch"; events: JobEvent[] };

/** API Gateway refuses frames over 128 KB; stay well under it, leaving room for a batch's framing. */
export const MAX_FRAME_BYTES = 120 * 1024;

export function isFinished(snapshot: Snapshot): boolean {
  return snapshot.status === "completed" || snapshot.status === "failed" || snapshot.status === "cancelled";
}

/**
 * The event a job's subscribers get this tick, or null: `job_finished` once the job has a
 * terminal status (sent once per subscriber: the caller records it), otherwise
 * `assembly_execution_progress` only when the job asked for it and an estimate is available.
 */
export function jobEventFor(snapshot: Snapshot, emitExecutionProgress: boolean): JobEvent | null {
  if (isFinished(snapshot)) return { event: "job_finished", job_id: snapshot.job_id, data: snapshot };
  if (!emitExecutionProgress || snapshot.progress_combined === null) return null;
  return { event: "assembly_execution_progress", job_id: snapshot.job_id, data: snapshot };
}

/** One frame per connection: the event itself, or a `batch` of the events of several jobs. */
export function frameFor(events: JobEvent[]): ServerFrame {
  return events.length === 1 ? { v: 1, ...events[0]! } : { v: 1, event: "batch", events };
}

/** A job's event for one tick, fitted and serialized once, then shared by all its subscribers. */
export interface RenderedEvent {
  event: JobEvent;
  json: string;
  bytes: number;
}

export function renderEvent(event: JobEvent, tick: number, maxBytes = MAX_FRAME_BYTES): RenderedEvent {
  const json = JSON.stringify({ ...event, data: fitSnapshot(event.data, tick, maxBytes) });
  return { event, json, bytes: Buffer.byteLength(json) };
}

const BATCH_OPEN = '{"v":1,"event":"batch","events":[';
const BATCH_CLOSE = "]}";

function serializedFrame(events: RenderedEvent[]): string {
  // The same bytes as JSON.stringify(frameFor(...)), put together from the shared pieces.
  if (events.length === 1) return `{"v":1,${events[0]!.json.slice(1)}`;
  return `${BATCH_OPEN}${events.map((event) => event.json).join(",")}${BATCH_CLOSE}`;
}

function frameBytes(events: RenderedEvent[]): number {
  return BATCH_OPEN.length + BATCH_CLOSE.length + events.reduce((sum, event) => sum + event.bytes + 1, 0);
}

/**
 * What one connection is sent this tick: one frame (a `batch` for several jobs), as DESIGN §3.5
 * asks. A batch that would pass the frame limit first has each snapshot paged down to an equal
 * share of it; only if even that cannot fit (many jobs with large fixed parts) is it split into
 * several frames, each under the limit, rather than refused by API Gateway.
 */
export function framesFor(events: RenderedEvent[], tick: number, maxBytes = MAX_FRAME_BYTES): string[] {
  if (events.length === 1 || frameBytes(events) <= maxBytes) return [serializedFrame(events)];
  const share = Math.floor((maxBytes - frameBytes([])) / events.length) - 1;
  const shared = events.map((event) => renderEvent(event.event, tick, share));
  if (frameBytes(shared) <= maxBytes) return [serializedFrame(shared)];
  const frames: string[] = [];
  let current: RenderedEvent[] = [];
  let currentBytes = frameBytes([]);
  for (const event of events) {
    if (current.length > 0 && currentBytes + event.bytes + 1 > maxBytes) {
      frames.push(serializedFrame(current));
      current = [];
      currentBytes = frameBytes([]);
    }
    current.push(event);
    currentBytes += event.bytes + 1;
  }
  frames.push(serializedFrame(current));
  return frames;
}

/**
 * A snapshot cut to fit a frame: when its per-file list is too long, the frame carries one page
 * of it (`files_page: {index, count, total_files}`), rotating through the pages tick after tick.
 * A client rebuilds the whole list by keeping, per `original_id`, the latest value it received;
 * everything else in the snapshot (combined figure, indicators, status) is always whole.
 */
export function fitSnapshot(snapshot: Snapshot, tick: number, maxBytes = MAX_FRAME_BYTES): Snapshot & { files_page?: { index: number; count: number; total_files: number } } {
  const bytes = Buffer.byteLength(JSON.stringify(snapshot));
  if (bytes <= maxBytes) return snapshot;
  const files = snapshot.progress_per_original_file;
  const perFile = Math.max(1, Math.ceil(Buffer.byteLength(JSON.stringify(files)) / Math.max(1, files.length)));
  const fixedBytes = bytes - Buffer.byteLength(JSON.stringify(files));
  const perPage = Math.max(1, Math.floor((maxBytes - fixedBytes - 200) / perFile));
  const count = Math.ceil(files.length / perPage);
  const index = tick % count;
  return {
    ...snapshot,
    progress_per_original_file: files.slice(index * perPage, (index + 1) * perPage),
    files_page: { index, count, total_files: files.length },
  };
}
