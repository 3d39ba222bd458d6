"""The client a producer builds once (at module scope in a Lambda) and closes at the end."""
from __future__ import annotations

import atexit
import logging
import threading
import urllib.parse
import weakref
from typing import Any, Callable, Dict, Iterable, Mapping, Optional

from .errors import DeliveryError, HeadwayError
from .events import Clock, check_id, make_event, utc_now
from .job import Job
from .outbox import ENVELOPE_BYTES, Outbox
from .ports import Flushable
from .transport import HttpTransport, RetryPolicy, Transport

log = logging.getLogger("headway")


class Headway:
    """A producer's connection to Headway.

    ``Headway(url=..., api_key=...)``; events queue and a background thread sends them in
    envelopes (≤ 500 events, ≤ 256 KB, after ``linger`` seconds), retrying 429/5xx/network errors
    with backoff. Call ``flush()`` before a Lambda handler returns and ``close()`` (or use
    ``with Headway(...) as hw:``) before a script ends; both raise ``DeliveryError`` naming what
    could not be delivered. An ``atexit`` hook flushes a client nobody closed, as a last resort.
    """

    def __init__(
        self,
        url: str,
        api_key: str,
        *,
        timeout: float = 15.0,
        retry: RetryPolicy = RetryPolicy(),
        linger: float = 0.05,
        max_batch_events: int = 500,
        max_batch_bytes: int = ENVELOPE_BYTES,
        on_error: Optional[Callable[[DeliveryError], None]] = None,
        transport: Optional[Transport] = None,
        clock: Clock = utc_now,
    ) -> None:
        self.url = url.rstrip("/")
        self._http = HttpTransport(self.url, api_key, timeout=timeout, retry=retry)
        # What a notebook's display of a job reads with: one try and a short wait, so that showing
        # a job never hangs a notebook (its failure is shown instead).
        self._display_http = HttpTransport(self.url, api_key, timeout=min(timeout, 5.0), retry=RetryPolicy(max_attempts=1))
        self._outbox = Outbox(transport or self._http, linger=linger, max_events=max_batch_events,
                              max_bytes=max_batch_bytes, on_error=on_error)
        self._clock = clock
        self._reporters: "weakref.WeakSet[Flushable]" = weakref.WeakSet()
        self._reporters_lock = threading.Lock()
        self._exit_hook = _exit_hook(weakref.ref(self))
        atexit.register(self._exit_hook)

    # ---------------------------------------------------------------- jobs

    def create_job(
        self,
        job_id: Optional[str] = None,
        *,
        plan: Optional[Mapping[str, Any]] = None,
        originals: Optional[Iterable[Mapping[str, Any]]] = None,
        expect_originals: Optional[Any] = None,
        emit_execution_progress: Optional[bool] = None,
        notify_url: Optional[str] = None,
        notify_milestones: Optional[Iterable[int]] = None,
    ) -> Job:
        """Create a job now (``POST /v1/jobs``, synchronous) and return its handle.

        ``plan`` is ``{"steps": {...}}``; without a ``job_id`` Headway picks one. A 4xx raises
        HeadwayError with the API's ``fields``; 409 means the id is taken.
        """
        body: Dict[str, Any] = {
            "job_id": None if job_id is None else check_id("job_id", job_id),
            "plan": plan,
            "originals": None if originals is None else list(originals),
            "expect_originals": expect_originals,
            "emit_execution_progress": emit_execution_progress,
            "notify_url": notify_url,
            "notify_milestones": None if notify_milestones is None else list(notify_milestones),
        }
        body = {key: value for key, value in body.items() if value is not None}
        try:
            created = self._http.request("POST", "/v1/jobs", body).body
        except HeadwayError as error:
            if error.status == 409 and job_id is not None and error.was_ambiguous:
                # An earlier attempt whose answer was lost created it: this is our job, not a clash.
                return self._recovered_job(job_id)
            raise
        return Job(self, created["job_id"], created.get("status_url"), created.get("websocket_url"), created.get("subscriber_token"))

    def _recovered_job(self, job_id: str) -> Job:
        try:
            token = self._http.request("POST", "/v1/tokens", {"job_ids": [job_id], "expires_in_seconds": 24 * 3600}).body
        except HeadwayError as error:
            # A key without the read scope (a worker's ingest-only key) gets no token, as creating the job gave none.
            if error.status == 403 and error.code == "missing_scope":
                return Job(self, job_id)
            raise
        return Job(self, job_id, subscriber_token=token.get("token"))

    def job(self, job_id: str) -> Job:
        """A handle on an existing job (no request is made)."""
        return Job(self, job_id)

    def snapshot(self, job_id: str, detail: bool = False) -> Dict[str, Any]:
        return self._http.request("GET", _snapshot_path(job_id, detail)).body

    def _peek(self, job_id: str) -> Dict[str, Any]:
        """The snapshot for a display: one try, a short timeout."""
        return self._display_http.request("GET", _snapshot_path(job_id, False)).body

    # ---------------------------------------------------------------- sending

    def _emit(self, job_id: str, type_: str, fields: Dict[str, Any]) -> Dict[str, Any]:
        event = make_event(job_id, type_, fields, self._clock)
        self._outbox.put(event)
        return event

    def _track(self, reporter: Flushable) -> None:
        with self._reporters_lock:
            self._reporters.add(reporter)

    def flush(self, timeout: Optional[float] = None) -> None:
        """Send held reporter values and every queued event; return once the API has them all.

        Raises DeliveryError for events that could not be delivered since the last flush."""
        with self._reporters_lock:
            reporters = list(self._reporters)
        for reporter in reporters:
            reporter.flush()
        self._outbox.flush(timeout)

    def close(self, timeout: Optional[float] = None) -> None:
        """Flush, then stop the sender; the client takes no more events."""
        if self._outbox.is_closed:
            return
        atexit.unregister(self._exit_hook)
        with self._reporters_lock:
            reporters = list(self._reporters)
        for reporter in reporters:
            reporter.flush()
        self._outbox.close(timeout)

    def __enter__(self) -> "Headway":
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if exc_type is None:
            self.close()
            return
        try:  # do not hide the exception that is already on its way out
            self.close()
        except HeadwayError as error:
            log.error("headway: while closing after %s: %s", exc_type.__name__, error)


def _snapshot_path(job_id: str, detail: bool) -> str:
    path = f"/v1/jobs/{urllib.parse.quote(check_id('job_id', job_id), safe='')}"
    return path + ("?detail=true" if detail else "")


def _exit_hook(client_ref: "weakref.ref[Headway]") -> Callable[[], None]:
    def flush_at_exit() -> None:
        client = client_ref()
        if client is not None:
            try:
                client.close(timeout=30)
            except HeadwayError as error:
                log.error("headway: at exit: %s", error)

    return flush_at_exit
