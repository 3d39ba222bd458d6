/**
 * Golem-style command progress: a reporter throttled by time (`updateIntervalMs`) and by units
 * (`updateStep`), with a trailing flush so that the last value always goes out (a consumer must
 * never see 99 % forever). The decision itself is `isDue`, a pure function of the last sent report.
 */

export interface ReporterOptions {
  /** At most one report per this many milliseconds (default 1000 when `updateStep` is not given either). */
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

export const DEFAULT_UPDATE_INTERVAL_MS = 1000;
/** With a step and no interval, how long a held-back value may wait before it goes out anyway. */
export const TRAILING_MS_WITHOUT_INTERVAL = 1000;

export function throttleOf(options: ReporterOptions): Throttle {
  const intervalMs = options.updateIntervalMs ?? (options.updateStep === undefined ? DEFAULT_UPDATE_INTERVAL_MS : null);
  return { intervalMs, step: options.updateStep ?? null };
}

/**
 * Whether a reading goes out now: the first always does, and so does a finished one
 * (`current ≥ total`); any other only once every throttle given is satisfied — the interval has
 * passed since the last sent report and the value moved by the step (either way: a transfer that
 * restarts goes backwards).
 */
export function isDue(last: Reading | null, next: Reading, throttle: Throttle): boolean {
  if (last === null) return true;
  if (next.total !== null && next.current >= next.total) return true;
  const hasWaited = throttle.intervalMs === null || next.atMs - last.atMs >= throttle.intervalMs;
  const hasMoved = throttle.step === null || Math.abs(next.current - last.current) >= throttle.step;
  return hasWaited && hasMoved;
}

/** When a held-back reading goes out if nothing else sends it first. */
export function trailingAtMs(last: Reading, heldAtMs: number, throttle: Throttle): number {
  return throttle.intervalMs === null ? heldAtMs + TRAILING_MS_WITHOUT_INTERVAL : Math.max(heldAtMs, last.atMs + throttle.intervalMs);
}

export interface Reporter {
  /** Reports the execution's progress; sent now or held back by the throttle (then sent later, never dropped). */
  report(current: number, total: number | null, detail?: ProgressDetail): void;
  /** Sends a held-back value now (the client's `flush()` does this for every reporter). */
  flush(): void;
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
  let last: Reading | null = null;
  let held: { reading: Reading; detail: ProgressDetail } | null = null;
  let timer: ReturnType<typeof setTimeout> | undefined;

  const withUnit = (detail: ProgressDetail): ProgressDetail => (options.unit === undefined || detail.unit !== undefined ? detail : { ...detail, unit: options.unit });

  function emit(reading: Reading, detail: ProgressDetail): void {
    deps.send(reading.current, reading.total, withUnit(detail), reading.atMs);
    last = reading;
  }

  function release(): void {
    if (timer !== undefined) clearTimeout(timer);
    timer = undefined;
    if (held !== null) {
      held = null;
      deps.onHeld(reporter, false);
    }
  }

  const reporter: Reporter = {
    report(current, total, detail = {}) {
      const reading: Reading = { atMs: deps.now(), current, total };
      if (isDue(last, reading, throttle)) {
        release();
        emit(reading, detail);
        return;
      }
      if (held === null) deps.onHeld(reporter, true);
      held = { reading, detail };
      timer ??= setTimeout(() => reporter.flush(), Math.max(0, trailingAtMs(last!, reading.atMs, throttle) - reading.atMs));
    },
    flush() {
      const value = held;
      release();
      if (value !== null) emit(value.reading, value.detail);
    },
    cancel: release,
  };
  return reporter;
}
