"""Progress a worker reports as it goes: Tilebox's counted work (`TaskProgress.add/done`, sent as
`indicator.reported` running totals) and Golem's throttled command progress (`Reporter`), which
never loses the last value."""
from __future__ import annotations

import threading
import time
from datetime import datetime, timezone
from typing import Any, Callable, Optional, Sequence

from .events import check_amount
from .ports import ProgressTarget


class TaskProgress:
    """One task attempt's counter under a label (Tilebox's ``context.progress(label)``).

    ``add(n)`` grows the total, ``done(n)`` the count; each call sends the attempt's running totals
    (``indicator.reported``), so reports may be lost, repeated or reordered without miscounting,
    and a retried task (a higher ``attempt``) replaces what its earlier attempts reported.
    Thread-safe.
    """

    def __init__(self, send: Callable[[float, float], None], label: Optional[str], task_id: str, attempt: int) -> None:
        self._send = send
        self.label = label
        self.task_id = task_id
        self.attempt = attempt
        self._lock = threading.Lock()
        self.added: float = 0
        self.completed: float = 0

    def add(self, n: float = 1) -> "TaskProgress":
        check_amount("n", n)
        with self._lock:
            self.added += n
            self._send(self.added, self.completed)
        return self

    def done(self, n: float = 1) -> "TaskProgress":
        check_amount("n", n)
        with self._lock:
            self.completed += n
            self._send(self.added, self.completed)
        return self


DEFAULT_UPDATE_INTERVAL = 1.0
_UNSET: Any = object()

Timer = Callable[[float, Callable[[], None]], Any]


def _start_timer(delay: float, fire: Callable[[], None]) -> threading.Timer:
    timer = threading.Timer(delay, fire)
    timer.daemon = True
    timer.start()
    return timer


class Reporter:
    """A throttled ``step.progress`` reporter for one execution (Golem's ``updateInterval``/``updateStep``).

    One semantics for every SDK, pinned by the table of cases in sdk/fixtures/reporter-cases.json
    (the TypeScript SDK's reporter runs the same table):

    - the first value, and a finished one (``current >= total``), go out at once;
    - any other value goes out at once when every throttle given holds: ``update_interval``
      seconds have passed since the last value went out, and the value moved by ``update_step``
      since then (either way: a transfer that restarts goes backwards);
    - otherwise it is held (a newer one replaces it) and goes out when it can: with an interval,
      when the interval is up if it moved by the step; and always at ``flush()`` or ``close()``
      (and the client's), so the last value is never lost. The execution's completion or failure
      drops it (``discard()``).

    Every value carries the time it was reported, even when it goes out later. With neither
    throttle given, the interval is one second. ``clock`` (seconds since the epoch) and ``timer``
    (``timer(delay, fire)`` returning something with ``cancel()``) are injectable for tests.
    """

    def __init__(self, execution: ProgressTarget, update_interval: Optional[float] = _UNSET, update_step: Optional[float] = None,
                 clock: Callable[[], float] = time.time, timer: Timer = _start_timer) -> None:
        if update_interval is _UNSET:
            update_interval = DEFAULT_UPDATE_INTERVAL if update_step is None else None
        if update_interval is None and update_step is None:
            raise ValueError("give update_interval, update_step or both")
        self._execution = execution
        self.update_interval = update_interval
        self.update_step = update_step
        self._clock = clock
        self._start_timer = timer
        self._lock = threading.Lock()
        self._last_current: Optional[float] = None
        self._last_sent_at = 0.0
        self._held: Optional[tuple] = None
        self._timer: Any = None
        self._closed = False
        self.sent = 0  # reports that went out (the rest were superseded while held)

    def report(self, current: float, total: Optional[float], unit: Optional[str] = None,
               step_index: Optional[Sequence[int]] = None, message: Optional[str] = None) -> None:
        with self._lock:
            if self._closed:
                raise RuntimeError("this reporter is closed: report() after close()")
            now = self._clock()
            value = (current, total, unit, None if step_index is None else tuple(step_index), message, now)
            if self._is_due(value, now):
                self._drop()
                self._send(value)
                return
            self._held = value
            if self._timer is None and self.update_interval is not None and self._has_moved(value):
                delay = max(0.0, self._last_sent_at + self.update_interval - now)
                self._timer = self._start_timer(delay, self._interval_up)

    def flush(self) -> None:
        """Send the held value now, if there is one."""
        with self._lock:
            self._send_held()

    def close(self) -> None:
        """Send the held value now, and refuse every later report."""
        with self._lock:
            self._send_held()
            self._closed = True

    def _send_held(self) -> None:
        held = self._held
        self._drop()
        if held is not None:
            self._send(held)

    def discard(self) -> None:
        """Forget the held value (the execution's completion or failure supersedes it)."""
        with self._lock:
            self._drop()

    def _has_moved(self, value: tuple) -> bool:
        last = self._last_current
        return self.update_step is None or last is None or abs(value[0] - last) >= self.update_step

    def _is_due(self, value: tuple, now: float) -> bool:
        current, total = value[0], value[1]
        if self._last_current is None or (total is not None and current >= total):
            return True
        # A nanosecond's allowance: clocks in float seconds must not make 1.0 s read as 0.999… s.
        has_waited = self.update_interval is None or now - self._last_sent_at >= self.update_interval - 1e-9
        return has_waited and self._has_moved(value)

    def _interval_up(self) -> None:
        with self._lock:
            self._timer = None
            held = self._held
            if held is None or not self._has_moved(held):
                return  # it waits for a later report, flush() or close()
            self._held = None
            self._send(held)

    def _drop(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._held = None

    def _send(self, value: tuple) -> None:
        current, total, unit, step_index, message, reported_at = value
        self._last_current, self._last_sent_at = current, self._clock()
        self.sent += 1
        self._execution.progress(current, total, unit=unit, step_index=step_index, message=message,
                                 at=datetime.fromtimestamp(reported_at, timezone.utc))
