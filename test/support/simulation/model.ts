/**
 * The delivery simulation's vocabulary (the ground every module of test/support/simulation/
 * stands on): what a run is asked to do, what it keeps of its clients and jobs, and the shape of
 * its findings. Types and constants only: it imports nothing of the simulation.
 */
import type { Event, Message } from "../../../core/contract/events.ts";
import type { Snapshot } from "../../../core/contract/snapshot.ts";

export const START_MS = Date.parse("2026-11-22T10:00:00.000Z");
export const DAY_MS = 24 * 3600_000;
export const TOKEN_SECRET = "sim-token-secret";
export const TENANTS = ["default", "acme"] as const;
/** API Gateway's limit on a WebSocket frame, and SQS's on a message. */
export const GATEWAY_FRAME_LIMIT = 128 * 1024;
export const SQS_MESSAGE_LIMIT = 256 * 1024;

/** Where a run's findings go. */
export interface Report {
  violation(line: string): void;
  count(what: string, n?: number): void;
  note(line: string): void;
}

/** Bugs planted to show that the simulation catches them. */
export type Plant =
  | "marker-only-when-version-moved"
  | "finished-claimed-before-post"
  | "clear-ignores-version"
  /** Subscriber tokens of a revoked key keep working (tokens that named no key). */
  | "revocation-ignored"
  /** Each part expires by its own last write, not by the job's last activity. */
  | "parts-expire-by-own-write"
  /** A refused create leaves an index entry, and the list asks for a job's head twice. */
  | "refused-create-indexed"
  /** A large reducer batch acknowledges messages past its eighth that it never applied. */
  | "large-batch-acks-unapplied";

export interface SimOptions {
  plant?: Plant;
  trace?: boolean;
}

export interface SimResult {
  violations: string[];
  trace: string[];
  stats: Record<string, number>;
}

/**
 * A run's seed, clock and findings: the part of the context every other part is built from.
 * `random` is the seed's one sequence (every draw of the run, in order: change the order and the
 * seeds that find a bug change); `features` come from a sequence of their own (issue 25's extras).
 */
export interface Run extends Report {
  readonly seed: number;
  readonly options: SimOptions;
  readonly random: () => number;
  /** A whole number in [0, n), from `random`. */
  draw(n: number): number;
  /** The fake clock: every step reads it through `now`, and only the schedule and the clock jumps move it. */
  nowMs: number;
  readonly now: () => number;
  /** Faults are injected only while this holds: the setup and the settling are calm. */
  isChaotic: boolean;
  readonly features: { revokesAKey: boolean; jumpsTheClock: boolean; takesLargeBatches: boolean };
  readonly violations: string[];
  readonly trace: string[];
  readonly stats: Record<string, number>;
}

export interface JobEventFrame {
  event: string;
  job_id?: string;
  code?: string;
  data?: Snapshot;
  events?: JobEventFrame[];
}

/** One invocation of a service: once it dies, every call it makes hangs for good. */
export interface Life {
  isDead: boolean;
}

export interface Client {
  name: string;
  tenant: string;
  /** The API key its token was minted with, and when that key was revoked (null: never). */
  keyId: string;
  revokedAtMs: number | null;
  token: string;
  scope: string[];
  connectionId: string | null;
  connections: number;
  /** Jobs the client wants to watch, and those the server confirmed on the current connection. */
  intended: Set<string>;
  confirmed: Set<string>;
  /** `subscribed` and `unsubscribed` answers that arrived on the current connection, not yet taken as confirmations. */
  acks: Set<string>;
  /**
   * Jobs whose unsubscribe was confirmed on this connection: their frames are ignored until the
   * client subscribes again. Until then (an unsubscribe that failed may or may not have been
   * applied) a client keeps what it receives: the server sends `job_finished` once per
   * subscription, so a client that dropped it could not expect it again.
   */
  dropped: Set<string>;
  /** Per job, the highest version received on the current connection (clients drop older ones by `version`), and the versions of `job_finished` received. */
  best: Map<string, number>;
  finished: Map<string, Set<number>>;
  /** Per job, the version of the frame that arrived last (a stale one may come after a newer). */
  last: Map<string, number>;
  /** The invocation serving the client's request in flight. */
  inFlight: Life | null;
}

export interface JobPlan {
  tenant: string;
  jobId: string;
  messages: { body: Message; omitTenant: boolean }[];
  notifyUrl: string | null;
  /** Every event of the job (its declaration included): the fault-free run's state is their fold. */
  events: Event[];
}
