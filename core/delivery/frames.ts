/**
 * The ticker's decisions about WebSocket and SSE frames, as data: which event a job's subscribers
 * get when it changed, and each connection's one frame per tick, fitted under API Gateway's limit
 * (a page of a large job's file list, the in-flight detail cut to its share). No I/O; the frames'
 * schemas are core/contract/realtime.ts.
 */
import type { InFlightExecution, Snapshot } from "../contract/snapshot.ts";
import { MAX_FRAME_IN_FLIGHT, type FrameDetail, type FrameSnapshot, type JobEvent, type ServerFrame } from "../contract/realtime.ts";

/** API Gateway refuses frames over 128 KB; stay well under it, leaving room for a batch's framing. */
export const MAX_FRAME_BYTES = 120 * 1024;
/** The most of a frame the in-flight detail may take (the snapshot pages into the rest). */
export const MAX_DETAIL_BYTES = 32 * 1024;

export function isFinished(snapshot: Snapshot): boolean {
  return snapshot.status === "completed" || snapshot.status === "failed" || snapshot.status === "cancelled";
}

/**
 * The event a job's subscribers get when it changed, or null: `job_finished` once the job has a
 * terminal status (sent once per subscriber: the caller records it), otherwise
 * `assembly_execution_progress`: to a subscriber that asked for the detail, always (the in-flight
 * commands are what it watches, also in a job without a combined figure, and asking is its
 * opt-in); to the others only when the job asked for progress and an estimate is available.
 */
export function jobEventFor(snapshot: Snapshot, emitExecutionProgress: boolean, isDetailed = false): JobEvent | null {
  if (isFinished(snapshot)) return { event: "job_finished", job_id: snapshot.job_id, data: snapshot };
  if (!isDetailed && (!emitExecutionProgress || snapshot.progress_combined === null)) return null;
  return { event: "assembly_execution_progress", job_id: snapshot.job_id, data: snapshot };
}

/** One frame per connection: the event itself, or a `batch` of the events of several jobs. */
export function frameFor(events: JobEvent[]): ServerFrame {
  return events.length === 1 ? { v: 1, ...events[0]! } : { v: 1, event: "batch", events };
}

/** A job's event for one tick, fitted and serialized once, then shared by all its subscribers (of one kind: with or without detail). */
export interface RenderedEvent {
  event: JobEvent;
  json: string;
  bytes: number;
  /** The in-flight executions a detail subscriber gets (cut to fit whatever budget the event is rendered for). */
  inFlight?: readonly InFlightExecution[];
}

export function renderEvent(event: JobEvent, tick: number, maxBytes = MAX_FRAME_BYTES, inFlight?: readonly InFlightExecution[]): RenderedEvent {
  const json = JSON.stringify({ ...event, data: fittedData(event.data, tick, maxBytes, inFlight) });
  return { event, json, bytes: Buffer.byteLength(json), ...(inFlight === undefined ? {} : { inFlight }) };
}

/**
 * A job's event as an answer to a subscribe: every page of its snapshot at once (one event when
 * it fits whole), each fitted to a frame, so that a client that just (re)subscribed has the whole
 * current snapshot rather than the one page of a tick.
 */
export function eventPages(event: JobEvent, inFlight?: readonly InFlightExecution[], maxBytes = MAX_FRAME_BYTES): JobEvent[] {
  const first = fittedData(event.data, 0, maxBytes, inFlight);
  const count = first.files_page?.count ?? 1;
  return Array.from({ length: count }, (_, index) => ({ ...event, data: index === 0 ? first : fittedData(event.data, index, maxBytes, inFlight) }));
}

/** The snapshot fitted to `maxBytes`, with the in-flight detail (cut to a quarter of the frame at most) when asked for. */
function fittedData(snapshot: FrameSnapshot, tick: number, maxBytes: number, inFlight: readonly InFlightExecution[] | undefined): FrameSnapshot {
  if (inFlight === undefined) return fitSnapshot(snapshot, tick, maxBytes);
  const detail = detailFor(inFlight, Math.min(MAX_DETAIL_BYTES, Math.floor(maxBytes / 4)));
  const detailBytes = Buffer.byteLength(JSON.stringify(detail)) + 12;
  return { ...fitSnapshot(snapshot, tick, maxBytes - detailBytes), detail };
}

/**
 * The first in-flight executions (most recently reported first, as renderInFlight orders them), at
 * most MAX_FRAME_IN_FLIGHT and as many as fit in `maxBytes`, with how many there are in all: a
 * job with thousands of running executions still gets its frame, with the list cut short.
 */
export function detailFor(inFlight: readonly InFlightExecution[], maxBytes = MAX_DETAIL_BYTES): FrameDetail {
  const kept: InFlightExecution[] = [];
  let bytes = 48;
  for (const execution of inFlight) {
    if (kept.length === MAX_FRAME_IN_FLIGHT) break;
    bytes += Buffer.byteLength(JSON.stringify(execution)) + 1;
    if (bytes > maxBytes) break;
    kept.push(execution);
  }
  return { in_flight: kept, in_flight_total: inFlight.length };
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
 * What one connection is sent this tick: one frame (a `batch` for several jobs), as docs/realtime.md
 * asks. A batch that would pass the frame limit first has each snapshot paged down to an equal
 * share of it; only if even that cannot fit (many jobs with large fixed parts) is it split into
 * several frames, each under the limit, rather than refused by API Gateway.
 */
export function framesFor(events: RenderedEvent[], tick: number, maxBytes = MAX_FRAME_BYTES): string[] {
  if (events.length === 1 || frameBytes(events) <= maxBytes) return [serializedFrame(events)];
  const share = Math.floor((maxBytes - frameBytes([])) / events.length) - 1;
  const shared = events.map((event) => renderEvent(event.event, tick, share, event.inFlight));
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
export function fitSnapshot(snapshot: FrameSnapshot, tick: number, maxBytes = MAX_FRAME_BYTES): FrameSnapshot {
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
