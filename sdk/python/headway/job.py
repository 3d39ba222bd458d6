"""A job as its producer sees it: the events of one job, with ids, times and attempts filled in.
Every method queues its event on the client's background sender and returns at once."""
from __future__ import annotations

import weakref
from datetime import datetime
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, Union

from . import display
from .errors import HeadwayError
from .events import check_amount, check_attempt, check_id, check_label, timestamp
from .ports import JobClient
from .progress import _UNSET, Reporter, TaskProgress

Result = Union[str, Mapping[str, Any]]


class Job:
    """A handle on one job: ``job_id``, and when it was created by this client, ``status_url``,
    ``websocket_url`` and ``subscriber_token`` (hand the token to whoever watches the job)."""

    def __init__(self, client: JobClient, job_id: str, status_url: Optional[str] = None,
                 websocket_url: Optional[str] = None, subscriber_token: Optional[str] = None) -> None:
        self._client = client
        self.job_id = check_id("job_id", job_id)
        self.status_url = status_url if status_url is not None else f"{client.url}/v1/jobs/{job_id}"
        self.websocket_url = websocket_url
        self.subscriber_token = subscriber_token

    def __repr__(self) -> str:
        """The job's figures as they are now (one GET, no retries): status, combined %, ETA, files, labels."""
        snapshot = self._peek()
        if isinstance(snapshot, HeadwayError):
            return display.unavailable_text(self.job_id, display.describe_failure(snapshot))
        return display.text(self.job_id, snapshot)

    def _repr_html_(self) -> str:
        """Jupyter's view of the job: a bar for the job, each file (slowest first) and each label."""
        snapshot = self._peek()
        if isinstance(snapshot, HeadwayError):
            return display.unavailable_html(self.job_id, display.describe_failure(snapshot))
        return display.to_html(self.job_id, snapshot)

    def _peek(self) -> Union[Dict[str, Any], HeadwayError]:
        try:
            return self._client._peek(self.job_id)
        except HeadwayError as error:
            return error

    def send(self, type_: str, **fields: Any) -> Dict[str, Any]:
        """Queue any event of this job (`v`, `job_id`, `event_id` and `at` filled in); returns it."""
        return self._client._emit(self.job_id, type_, fields)

    # ---------------------------------------------------------------- uploads

    def original_added(self, original_id: str, mime: Optional[str] = None, source: Optional[str] = None) -> None:
        """An original file is known (its upload finished, or an import produced it)."""
        self.send("original.added", original_id=check_id("original_id", original_id), mime=mime, source=source)

    def sealed(self, count: Optional[int] = None) -> None:
        """No more originals will arrive; ``count`` is how many were added (send it: a seal that
        overtakes the last ``original.added`` then does not complete the upload too early)."""
        self.send("originals.sealed", count=count)

    # ---------------------------------------------------------------- work

    def execution(self, step: str, original_id: Optional[str] = None, input_id: Optional[str] = None, attempt: int = 1) -> "Execution":
        """One execution of ``step`` on one input (``input_id`` defaults to ``original_id`` on the
        server); ``attempt`` counts retries: a higher attempt replaces what the lower ones reported."""
        return Execution(self, step, original_id, input_id, attempt)

    def progress(self, label: Optional[str] = None, *, task_id: str, attempt: int = 1) -> TaskProgress:
        """Tilebox's counted work for one task attempt: ``job.progress("pages", task_id="t1").add(10)``,
        then ``.done(1)`` as each is done; a job's value is the sum over its tasks."""
        check_label(label)
        check_id("task_id", task_id)
        check_attempt(attempt)

        def send(added: float, done: float) -> None:
            self.send("indicator.reported", label=label, task_id=task_id, attempt=attempt, added=added, done=done)

        return TaskProgress(send, label, task_id, attempt)

    # ---------------------------------------------------------------- the end

    def complete(self) -> None:
        """The job is done: it shows 100 and ``completed``. A job ends only with this (or fail/cancel)."""
        self.send("job.completed")

    def fail(self, error: Optional[str] = None) -> None:
        self.send("job.failed", error=error)

    def cancel(self) -> None:
        self.send("job.cancelled")

    # ---------------------------------------------------------------- reading

    def snapshot(self, detail: bool = False) -> Dict[str, Any]:
        """The job's current snapshot (``GET /v1/jobs/{id}``); events still queued are not in it."""
        return self._client.snapshot(self.job_id, detail=detail)


class Execution:
    """One attempt of one step on one input: ``started()``, ``progress(...)``, then ``completed(...)``
    or ``failed(...)``; ``reporter(...)`` throttles frequent progress."""

    def __init__(self, job: Job, step: str, original_id: Optional[str], input_id: Optional[str], attempt: int) -> None:
        self.job = job
        self.step = check_id("step", step)
        self.original_id = None if original_id is None else check_id("original_id", original_id)
        self.input_id = None if input_id is None else check_id("input_id", input_id)
        self.attempt = check_attempt(attempt)
        self._reporters: "weakref.WeakSet[Reporter]" = weakref.WeakSet()

    def __repr__(self) -> str:
        return f"Execution({self.job.job_id!r}, {self.step!r}, input={self.input_id or self.original_id!r}, attempt={self.attempt})"

    def _send(self, type_: str, **fields: Any) -> None:
        self.job.send(type_, step=self.step, input_id=self.input_id, original_id=self.original_id, attempt=self.attempt, **fields)

    def started(self) -> None:
        self._send("step.started")

    def progress(self, current: float, total: Optional[float], unit: Optional[str] = None,
                 step_index: Optional[Sequence[int]] = None, message: Optional[str] = None,
                 at: Optional[datetime] = None) -> None:
        """In-flight progress: ``current`` of ``total`` (``None`` while the size is unknown), with
        Golem's ``unit`` ("Bytes"), ``step_index`` (i, n) and ``message``; ``at`` is when it was
        measured (now, unless given: a throttled reporter sends a held value with its own time)."""
        check_amount("current", current)
        if total is not None:
            check_amount("total", total)
        if step_index is not None:
            i, n = step_index
            if not 0 <= i < n:
                raise ValueError(f"step_index (i, n) needs 0 ≤ i < n, got {tuple(step_index)!r}")
            step_index = [i, n]
        self._send("step.progress", progress=[current, total], unit=unit, step_index=step_index, message=message,
                   at=None if at is None else timestamp(at))

    def completed(self, results: Optional[Iterable[Result]] = None, result_count: Optional[int] = None) -> None:
        """The execution finished. ``results`` are result ids or ``{"result_id", "original_id"?, "mime"?}``
        dicts (they feed later steps); or give only ``result_count``; with neither, one result."""
        self._drop_held_reports()
        listed: Optional[List[Dict[str, Any]]] = None
        if results is not None:
            listed = [{"result_id": r} if isinstance(r, str) else dict(r) for r in results]
            for result in listed:
                check_id("result_id", result.get("result_id"))
        if listed is None and result_count is None:
            result_count = 1
        self._send("step.completed", results=listed, result_count=result_count)

    def failed(self, error: str, will_retry: bool = False) -> None:
        """The execution failed; ``will_retry=True`` says another attempt will follow."""
        if not isinstance(error, str) or not error:
            raise ValueError("error must be a non-empty string")
        self._drop_held_reports()
        self._send("step.failed", error=error, will_retry=bool(will_retry))

    def reporter(self, update_interval: Optional[float] = _UNSET, update_step: Optional[float] = None) -> Reporter:
        """A throttled progress reporter for this execution (see ``Reporter``): ``update_interval``
        seconds (one, when neither throttle is given) and/or ``update_step`` units."""
        client_clock = self.job._client._clock
        reporter = Reporter(self, update_interval, update_step, clock=lambda: client_clock().timestamp())
        self._reporters.add(reporter)
        self.job._client._track(reporter)
        return reporter

    def _drop_held_reports(self) -> None:
        # A completion or failure of this attempt supersedes all its progress: held values need not go.
        for reporter in list(self._reporters):
            reporter.discard()
