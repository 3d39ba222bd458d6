"""Wire events (docs/events.md, core/contract/): built as plain dicts with `v`,
`event_id` and `at` filled in, and checked for what the SDK can know before sending, so that a
mistake raises at the call that made it rather than in the background sender.
This module never does I/O."""
from __future__ import annotations

import re
import uuid
from datetime import datetime, timezone
from typing import Any, Callable, Dict, Optional

ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
LABEL_CHARS = 100
EVENTS_PER_ENVELOPE = 500

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def timestamp(moment: datetime) -> str:
    """ISO-8601 in UTC with milliseconds, as the contract's Timestamp takes it."""
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def new_event_id() -> str:
    return uuid.uuid4().hex


def check_id(name: str, value: Any) -> str:
    if not isinstance(value, str) or not ID.match(value):
        raise ValueError(f"{name} must be 1–128 characters of [A-Za-z0-9._:-], got {value!r}")
    return value


def check_attempt(attempt: Any) -> int:
    if isinstance(attempt, bool) or not isinstance(attempt, int) or not 0 <= attempt <= 1_000_000:
        raise ValueError(f"attempt must be an integer 0–1,000,000, got {attempt!r}")
    return attempt


def check_amount(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= 0:
        raise ValueError(f"{name} must be a number ≥ 0, got {value!r}")
    return value


def check_label(label: Optional[str]) -> Optional[str]:
    if label is not None and (not isinstance(label, str) or len(label) > LABEL_CHARS):
        raise ValueError(f"label must be a string of at most {LABEL_CHARS} characters, got {label!r}")
    return label


def make_event(job_id: str, type_: str, fields: Dict[str, Any], clock: Clock = utc_now) -> Dict[str, Any]:
    """One event: the common fields, then `fields` without the ones that are None."""
    event: Dict[str, Any] = {"v": 1, "type": type_, "job_id": job_id, "event_id": new_event_id(), "at": timestamp(clock())}
    event.update((key, value) for key, value in fields.items() if value is not None)
    return event


def coalesce_key(event: Dict[str, Any]) -> Optional[tuple]:
    """Events that a later event of the same key makes redundant, so a queued one may be replaced.

    `indicator.reported` carries running totals (the largest wins) and, within one attempt of an
    execution, the `step.progress` with the latest `at` wins: in both, the newest supersedes the
    older ones still waiting to be sent.
    """
    type_ = event["type"]
    if type_ == "indicator.reported":
        return (type_, event["job_id"], event.get("label"), event["task_id"], event["attempt"])
    if type_ == "step.progress":
        return (type_, event["job_id"], event["step"], event.get("input_id"), event.get("original_id"), event["attempt"])
    return None
