/**
 * Golem-style command progress: a reporter throttled by time (`updateIntervalMs`) and by units
 * (`updateStep`). One semantics for every SDK, pinned by the shared table of cases in
 * sdk/fixtures/reporter-cases.json (the Python SDK's `Reporter` runs the same table):
 * - the first value, and a finished one (`current ≥ total`), go out at once;
 * - any other value goes out at once when every throttle given holds: the interval has passed
 *   since the last value went out, and the value moved by the step since then (either way: a
 *   transfer that restarts goes backwards);
 * - otherwise it is held (a newer one replaces it) and goes out when it can: with an interval, when
 *   the interval is up if it moved by the step; and always at `flush()` or `close()`, so the last
 *   value is never lost. A completion or failure of the execution drops it (`cancel()`).
 * Every value carries the time it was reported, even when it goes out later.
 */

export interface ReporterOptions {
  /** At most one report per this many milliseconds (1000 when `updateStep` is not given either). */
  updateIntervalMs?: number;
  /** A report only once the value moved by at least this many units (e.g. 1048576 bytes). */
  updateStep?: number;
  /** The unit every report carries unless `report` names another (e.g. `Bytes`). */
  unit?: string;
}

export interface ProgressDetail {
  unit?: string;
  /** `[i, n]`: the i-th (0-based) of n sub-steps of this execution (Golem's `step`). */
  stepIndex?: [number, number];
  message?: string;
}

export interface Reading {
  atMs: number;
  current: number;
  total: number | null;
}

export interface Throttle {
  intervalMs: number | null;
  step: number | null;
}

/** The last value that went out, and when it did. */
export interface Sent {
  sentAtMs: number;
  current: number;
}

export const DEFAULT_UPDATE_INTERVAL_MS = 1000;

export function throttleOf(options: ReporterOptions): Throttle {
  const intervalMs = options.updateIntervalMs ?? (options.updateStep === undefined ? DEFAULT_UPDATE_INTERVAL_MS : null);
  return { intervalMs, step: options.updateStep ?? null };
}

const isFinished = (reading: Reading) => reading.total !== null && reading.current >= reading.total;

/** The value moved by the step since the last one that went out (always, without a step). */
export function hasMoved(last: Sent, next: Reading, throttle: Throttle): boolean {
  return throttle.step === null || Math.abs(next.current - last.current) >= throttle.step;
}

/** Whether a reading goes out at once (see the module's rules). */
export function isDue(last: Sent | null, next: Reading, throttle: Throttle): boolean {
  if (last === null || isFinished(next)) return true;
  const hasWaited = throttle.intervalMs === null || next.atMs - last.sentAtMs >= throttle.intervalMs;
  return hasWaited && hasMoved(last, next, throttle);
}

export interface Reporter {
  /** Reports the execution's progress: sent now, or held back by the throttle (then sent later, never dropped). Throws once closed. */
  report(current: number, total: number | null, detail?: ProgressDetail): void;
  /** Sends a held-back value now (the client's `flush()` does this for every reporter). */
  flush(): void;
  /** Sends a held-back value now and refuses every later report. */
  close(): void;
  /** Drops a held-back value (the execution finished: its completion supersedes any progress). */
  cancel(): void;
}

export interface ReporterDeps {
  now: () => number;
  send(current: number, total: number | null, detail: ProgressDetail, atMs: number): void;
  /** Called while a value is held back (true) and once it is not (false), so the client can flush it. */
  onHeld(reporter: Reporter, isHeld: boolean): void;
}

export function createReporter(options: ReporterOptions, deps: ReporterDeps): Reporter {
  const throttle = throttleOf(options);
  let last: Sent | null = null;
  let held: { reading: Reading; detail: ProgressDetail } | null = null;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let isClosed = false;

  const withUnit = (detail: ProgressDetail): ProgressDetail => (options.unit === undefined || detail.unit !== undefined ? detail : { ...detail, unit: options.unit });

  function emit(reading: Reading, detail: ProgressDetail): void {
    last = { sentAtMs: deps.now(), current: reading.current };
    deps.send(reading.current, reading.total, withUnit(detail), reading.atMs);
  }

  function drop(): void {
    if (timer !== undefined) clearTimeout(timer);
    timer = undefined;
    if (held !== null) {
      held = null;
      deps.onHeld(reporter, false);
    }
  }

  /** The interval is up: the held value goes out if it moved by the step (else it waits for a later report, flush or close). */
  function onIntervalUp(): void {
    timer = undefined;
    if (held === null || last === null || !hasMoved(last, held.reading, throttle)) return;
    const value = held;
    drop();
    emit(value.reading, value.detail);
  }

  const reporter: Reporter = {
    report(current, total, detail = {}) {
      if (isClosed) throw new Error("this reporter is closed: report() after close()");
      const reading: Reading = { atMs: deps.now(), current, total };
      if (isDue(last, reading, throttle)) {
        drop();
        emit(reading, detail);
        return;
      }
      if (held === null) deps.onHeld(reporter, true);
      held = { reading, detail };
      if (timer === undefined && throttle.intervalMs !== null && hasMoved(last!, reading, throttle)) {
        timer = setTimeout(onIntervalUp, Math.max(0, last!.sentAtMs + throttle.intervalMs - reading.atMs));
      }
    },
    flush() {
      const value = held;
      drop();
      if (value !== null) emit(value.reading, value.detail);
    },
    close() {
      reporter.flush();
      isClosed = true;
    },
    cancel: drop,
  };
  return reporter;
}
