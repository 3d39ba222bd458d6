/**
 * The WebSocket protocol on the wire (docs/realtime.md): what a client may send and what the server
 * sends, as zod schemas (the server's frames are typed from them and the subscriber client parses
 * with them). The subscriber client imports this module in browsers: nothing here may need Node.
 * Which frame each connection gets in a tick is core/delivery/frames.ts.
 */
import { z } from "zod";
import { Id } from "./fields.ts";
import { Snapshot, SnapshotDetail } from "./snapshot.ts";

/** A client's own name for a request, echoed on the answer (`subscribed`, `unsubscribed`, `pong`, `error`). */
export const RequestId = z.union([z.string().max(128), z.number().finite()]);
export type RequestId = z.infer<typeof RequestId>;

export const ClientMessage = z.discriminatedUnion("action", [
  /** `detail: true` makes this connection's frames for the job carry the in-flight executions (`detail.in_flight`). */
  z.object({ action: z.literal("subscribe"), job_id: Id, detail: z.boolean().optional(), id: RequestId.optional() }),
  z.object({ action: z.literal("unsubscribe"), job_id: Id, id: RequestId.optional() }),
  z.object({ action: z.literal("ping"), id: RequestId.optional() }),
]);
export type ClientMessage = z.infer<typeof ClientMessage>;

/** The request id of a frame that may not parse as a whole, so that its `error` can still name it. */
export function requestIdOf(json: unknown): RequestId | undefined {
  if (typeof json !== "object" || json === null || !("id" in json)) return undefined;
  const parsed = RequestId.safeParse(json.id);
  return parsed.success ? parsed.data : undefined;
}

/** One page of a snapshot's per-file list (see `fitSnapshot`). */
export const FilesPage = z.object({ index: z.int().min(0), count: z.int().min(1), total_files: z.int().min(0) });
export type FilesPage = z.infer<typeof FilesPage>;

/**
 * The detail view as much of it as a frame carries: a subscriber that asked for `detail` gets the
 * in-flight executions (Golem's shape, as GET `?detail=true` shows them), at most
 * MAX_FRAME_IN_FLIGHT of them, the most recently reported first (fewer when long messages would
 * not fit the frame), and `in_flight_total`, how many there are: GET `?detail=true&in_flight_page=`
 * pages through the rest. (GET's other detail fields grow with the job or are for operators; a
 * frame leaves them out.)
 */
export const FrameDetail = SnapshotDetail.partial();
export type FrameDetail = z.infer<typeof FrameDetail>;

/** In-flight executions a frame carries at most (one frame per connection per tick, under 128 KB: docs/realtime.md). */
export const MAX_FRAME_IN_FLIGHT = 100;

/** The snapshot as a frame carries it: whole, or one page of its file list (`files_page`). */
export const FrameSnapshot = Snapshot.extend({ files_page: FilesPage.optional(), detail: FrameDetail.optional() });
export type FrameSnapshot = z.infer<typeof FrameSnapshot>;

const ProgressEvent = z.object({ event: z.literal("assembly_execution_progress"), job_id: Id, data: FrameSnapshot });
const FinishedEvent = z.object({ event: z.literal("job_finished"), job_id: Id, data: FrameSnapshot });
/** A job's event: alone in a frame, or one of a `batch`. */
export const JobEvent = z.discriminatedUnion("event", [ProgressEvent, FinishedEvent]);
export type JobEvent = z.infer<typeof JobEvent>;

const answer = { v: z.literal(1), id: RequestId.optional() };
export const ServerFrame = z.discriminatedUnion("event", [
  z.object({ ...answer, event: z.literal("subscribed"), job_id: Id }),
  z.object({ ...answer, event: z.literal("unsubscribed"), job_id: Id }),
  z.object({ ...answer, event: z.literal("pong") }),
  /** `code`: the WebSocket code of an error (functions/errors.ts); a string on the wire, so that a client built before a new code still reads the error. */
  z.object({ ...answer, event: z.literal("error"), code: z.string(), message: z.string() }),
  ProgressEvent.extend({ v: z.literal(1) }),
  FinishedEvent.extend({ v: z.literal(1) }),
  z.object({ v: z.literal(1), event: z.literal("batch"), events: z.array(JobEvent) }),
]);
export type ServerFrame = z.infer<typeof ServerFrame>;
