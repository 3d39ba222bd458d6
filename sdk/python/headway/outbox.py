"""The background sender: events queue here and a daemon thread sends them in envelopes of one
job (≤ 500 events and ≤ 256 KB, the SQS message limit), after a short linger so that reports made
together travel together. It never drops an event silently: whatever it could not deliver is
kept as a DeliveryError for the next flush() or close()."""
from __future__ import annotations

import logging
import re
import threading
import time
from collections import OrderedDict
from typing import Any, Callable, Dict, List, Optional

from .errors import DeliveryError, HeadwayError
from .events import EVENTS_PER_ENVELOPE, coalesce_key
from .transport import Transport, dumps

log = logging.getLogger("headway")

ENVELOPE_BYTES = 256 * 1024
_ENVELOPE_OVERHEAD = len('{"v":1,"events":[]}')
_EVENT_FIELD = re.compile(r"^events\[(\d+)\]")
_KEPT_LOST_EVENTS = 1_000


class _Queued:
    __slots__ = ("event", "text", "key")

    def __init__(self, event: Dict[str, Any], key: Optional[tuple]) -> None:
        self.event = event
        self.text = dumps(event).encode()
        self.key = key


class Outbox:
    def __init__(
        self,
        transport: Transport,
        *,
        linger: float = 0.05,
        max_events: int = EVENTS_PER_ENVELOPE,
        max_bytes: int = ENVELOPE_BYTES,
        max_queued: int = 100_000,
        on_error: Optional[Callable[[DeliveryError], None]] = None,
    ) -> None:
        if not 1 <= max_events <= EVENTS_PER_ENVELOPE:
            raise ValueError(f"max_events must be 1–{EVENTS_PER_ENVELOPE}")
        self._transport = transport
        self._linger = linger
        self._max_events = max_events
        self._max_bytes = max_bytes
        self._max_queued = max_queued
        self._on_error = on_error
        self._lock = threading.Condition()
        # Per job, its events in arrival order; jobs in the order they first had something to send.
        self._queues: "OrderedDict[str, List[_Queued]]" = OrderedDict()
        self._since: Dict[str, float] = {}  # per job, when its oldest queued event arrived
        self._by_key: Dict[tuple, _Queued] = {}
        self._queued = 0
        self._in_flight = 0
        self._flushing = 0
        self._closed = False
        self._errors: List[HeadwayError] = []
        self._lost: List[Dict[str, Any]] = []
        self._lost_count = 0
        self._thread = threading.Thread(target=self._run, name="headway-outbox", daemon=True)
        self._thread.start()

    # ------------------------------------------------------------------ producer side

    def put(self, event: Dict[str, Any]) -> None:
        key = coalesce_key(event)
        with self._lock:
            if self._closed:
                raise HeadwayError("this Headway client is closed")
            if key is not None and key in self._by_key:
                self._replace(self._by_key[key], event)
                return
            while self._queued >= self._max_queued and not self._closed:
                self._lock.wait()  # back-pressure: the sender is due, since a full queue fills envelopes
            item = _Queued(event, key)
            job_id = event["job_id"]
            if job_id not in self._queues:
                self._queues[job_id] = []
                self._since[job_id] = time.monotonic()
            self._queues[job_id].append(item)
            if key is not None:
                self._by_key[key] = item
            self._queued += 1
            self._lock.notify_all()

    def _replace(self, item: _Queued, event: Dict[str, Any]) -> None:
        if event["type"] == "indicator.reported":
            # Running totals: the largest wins on the server, so keep the largest here too.
            event = dict(event, added=max(event["added"], item.event["added"]), done=max(event["done"], item.event["done"]))
        item.event = event
        item.text = dumps(event).encode()

    def flush(self, timeout: Optional[float] = None) -> None:
        """Send everything queued now, wait until it is delivered, raise what could not be."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._lock:
            self._flushing += 1
            self._lock.notify_all()
            try:
                while self._queued or self._in_flight:
                    remaining = None if deadline is None else deadline - time.monotonic()
                    if remaining is not None and remaining <= 0:
                        raise HeadwayError(f"flush timed out with {self._queued + self._in_flight} event(s) not yet delivered")
                    self._lock.wait(remaining)
            finally:
                self._flushing -= 1
            self._raise_errors()

    def close(self, timeout: Optional[float] = None) -> None:
        try:
            self.flush(timeout)
        finally:
            with self._lock:
                self._closed = True
                self._lock.notify_all()
            self._thread.join(1.0)

    @property
    def is_closed(self) -> bool:
        return self._closed

    def _raise_errors(self) -> None:
        if self._errors:
            error = DeliveryError(self._errors, self._lost_count, self._lost)
            self._errors, self._lost, self._lost_count = [], [], 0
            raise error

    # ------------------------------------------------------------------ sender thread

    def _run(self) -> None:
        while True:
            with self._lock:
                job_id = self._due_job()
                while job_id is None:
                    if self._closed and not self._queued:
                        return
                    self._lock.wait(self._wait_time())
                    job_id = self._due_job()
                items = self._take_envelope(job_id)
                self._in_flight += len(items)
            self._deliver(job_id, items)
            with self._lock:
                self._in_flight -= len(items)
                self._lock.notify_all()

    def _due_job(self) -> Optional[str]:
        """The first job whose events should go now: a full envelope, a linger passed, or a flush."""
        hurry = self._flushing > 0 or self._closed or self._queued >= self._max_queued
        now = time.monotonic()
        for job_id, queue in self._queues.items():
            if hurry or len(queue) >= self._max_events or now - self._since[job_id] >= self._linger:
                return job_id
        return None

    def _wait_time(self) -> Optional[float]:
        if not self._since:
            return None
        return max(0.0, self._linger - (time.monotonic() - min(self._since.values())))

    def _take_envelope(self, job_id: str) -> List[_Queued]:
        """The job's oldest events that fit in one envelope (an event over the byte limit goes alone)."""
        queue = self._queues[job_id]
        size, count = _ENVELOPE_OVERHEAD, 0
        for item in queue:
            if count == self._max_events or (count and size + len(item.text) + 1 > self._max_bytes):
                break
            size += len(item.text) + 1
            count += 1
        taken, rest = queue[:count], queue[count:]
        if rest:
            self._queues[job_id] = rest
            self._queues.move_to_end(job_id)  # one job's backlog does not hold the others back
        else:
            del self._queues[job_id]
            del self._since[job_id]
        for item in taken:
            if item.key is not None and self._by_key.get(item.key) is item:
                del self._by_key[item.key]
        self._queued -= count
        return taken

    def _deliver(self, job_id: str, items: List[_Queued]) -> None:
        while items:
            body = b'{"v":1,"events":[' + b",".join(item.text for item in items) + b"]}"
            try:
                self._transport.send_envelope(job_id, body)
                return
            except HeadwayError as error:
                bad = _refused_indices(error, len(items))
                if error.status == 400 and bad and len(bad) < len(items):
                    # The API enqueues nothing of a refused envelope: send the events it did not name.
                    self._record(error, [items[i].event for i in sorted(bad)])
                    items = [item for i, item in enumerate(items) if i not in bad]
                    continue
                self._record(error, [item.event for item in items])
                return
            except Exception as error:  # a transport of the caller's: still never lose silently
                self._record(HeadwayError(f"{type(error).__name__}: {error}"), [item.event for item in items])
                return

    def _record(self, error: HeadwayError, events: List[Dict[str, Any]]) -> None:
        log.warning("headway: %d event(s) not delivered: %s", len(events), error)
        with self._lock:
            self._errors.append(error)
            self._lost_count += len(events)
            self._lost.extend(events[: max(0, _KEPT_LOST_EVENTS - len(self._lost))])
        if self._on_error is not None:
            try:
                self._on_error(DeliveryError([error], len(events), events))
            except Exception:
                log.exception("headway: the on_error callback raised")


def _refused_indices(error: HeadwayError, count: int) -> set:
    indices = set()
    for field in error.fields:
        match = _EVENT_FIELD.match(str(field.get("field", "")))
        if match and int(match.group(1)) < count:
            indices.add(int(match.group(1)))
    return indices
