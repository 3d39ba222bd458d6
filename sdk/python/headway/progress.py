"""Progress a worker reports as it goes: Tilebox's counted work (`TaskProgress.add/done`, sent as
`indicator.reported` running totals) and Golem's throttled command progress (`Reporter`), whose
trailing flush makes sure the last value always goes out."""
from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING, Callable, Optional, Sequence

from .events import check_amount

if TYPE_CHECKING:
    from .job import Execution


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


class Reporter:
    """A throttled ``step.progress`` reporter for one execution (Golem's ``updateInterval``/``updateStep``).

    ``report(current, total, ...)`` sends at once when it is the first report, when the unit,
    ``step_index`` or message changed, when ``current`` moved by at least ``update_step`` since the
    last value sent, or when ``update_interval`` seconds passed since then. Any other value is held,
    and the newest held value goes out when the interval has passed (the trailing flush), at
    ``flush()``, when the execution completes or fails, and at the client's ``flush()``/``close()``:
    a consumer never sees 99 % forever.
    """

    def __init__(self, execution: "Execution", update_interval: Optional[float] = 0.3, update_step: Optional[float] = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if update_interval is None and update_step is None:
            raise ValueError("give update_interval, update_step or both")
        self._execution = execution
        self.update_interval = update_interval
        self.update_step = update_step
        self._clock = clock
        self._lock = threading.Lock()
        self._last_sent_at: Optional[float] = None
        self._last_sent: Optional[tuple] = None
        self._held: Optional[tuple] = None
        self._timer: Optional[threading.Timer] = None
        self.sent = 0  # reports that went out (the rest were superseded while held)

    def report(self, current: float, total: Optional[float], unit: Optional[str] = None,
               step_index: Optional[Sequence[int]] = None, message: Optional[str] = None) -> None:
        value = (current, total, unit, None if step_index is None else tuple(step_index), message)
        with self._lock:
            if self._is_due(value):
                self._held = None
                self._cancel_timer()
                self._send(value)
                return
            self._held = value
            if self._timer is None and self.update_interval is not None:
                delay = max(0.0, self.update_interval - (self._clock() - (self._last_sent_at or 0.0)))
                self._timer = threading.Timer(delay, self._trailing)
                self._timer.daemon = True
                self._timer.start()

    def flush(self) -> None:
        """Send the held value now, if there is one."""
        with self._lock:
            self._cancel_timer()
            held, self._held = self._held, None
            if held is not None:
                self._send(held)

    close = flush

    def discard(self) -> None:
        """Forget the held value (the execution's completion or failure supersedes it)."""
        with self._lock:
            self._cancel_timer()
            self._held = None

    def _is_due(self, value: tuple) -> bool:
        last = self._last_sent
        if last is None or value[2:] != last[2:]:
            return True  # the first report, or a new unit, step or message (a new total alone waits its turn)
        if self.update_step is not None and abs(value[0] - last[0]) >= self.update_step:
            return True
        return self.update_interval is not None and self._clock() - (self._last_sent_at or 0.0) >= self.update_interval

    def _trailing(self) -> None:
        with self._lock:
            self._timer = None
            held, self._held = self._held, None
            if held is not None:
                self._send(held)

    def _cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _send(self, value: tuple) -> None:
        current, total, unit, step_index, message = value
        self._execution.progress(current, total, unit=unit, step_index=step_index, message=message)
        self._last_sent, self._last_sent_at = value, self._clock()
        self.sent += 1

