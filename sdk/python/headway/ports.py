"""What the modules lower down need of the ones above them, each as a small ``typing.Protocol``,
so that imports run one way (client → job → progress → ports → events) and no module needs the
class of the one that holds it. Members with a leading underscore are the package's own
business with its client, not part of the public API."""
from __future__ import annotations

from datetime import datetime
from typing import Any, Dict, Optional, Protocol, Sequence

from .events import Clock


class Flushable(Protocol):
    """A throttled reporter as the client sees it: a held value that ``flush()`` sends."""

    def flush(self) -> None: ...


class ProgressTarget(Protocol):
    """Where a ``Reporter`` sends what it lets through: its execution's ``step.progress``."""

    def progress(self, current: float, total: Optional[float], unit: Optional[str] = None,
                 step_index: Optional[Sequence[int]] = None, message: Optional[str] = None,
                 at: Optional[datetime] = None) -> None: ...


class JobClient(Protocol):
    """What a ``Job`` (and its executions) need of the client that made it: the API's URL, the
    clock events are stamped with, a queue for the job's events, its snapshot, and a list of the
    reporters to flush before the client flushes or closes."""

    url: str
    _clock: Clock

    def snapshot(self, job_id: str, detail: bool = False) -> Dict[str, Any]: ...

    def _peek(self, job_id: str) -> Dict[str, Any]: ...

    def _emit(self, job_id: str, type_: str, fields: Dict[str, Any]) -> Dict[str, Any]: ...

    def _track(self, reporter: Flushable) -> None: ...
