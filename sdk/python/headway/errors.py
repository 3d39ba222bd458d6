"""The SDK's one error taxonomy: every failure a caller can catch is a HeadwayError."""
from __future__ import annotations

from typing import Any, List, Mapping, Optional


class HeadwayError(Exception):
    """A request Headway refused, or one the SDK could not deliver.

    ``status`` is the HTTP status (``None`` when no answer came), ``code`` the API's error code
    (``invalid_event``, ``not_found``…), ``fields`` the API's ``error.fields``: a list of
    ``{"field": "events[0].progress[1]", "message": "…"}`` naming what was wrong.
    """

    def __init__(
        self,
        message: str,
        *,
        status: Optional[int] = None,
        code: Optional[str] = None,
        fields: Optional[List[Mapping[str, str]]] = None,
        request_id: Optional[str] = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code
        self.fields: List[Mapping[str, str]] = list(fields or [])
        self.request_id = request_id
        #: True when an earlier attempt of the request may have reached the server (answer lost, or a 5xx).
        self.was_ambiguous = False

    @classmethod
    def from_response(cls, status: int, body: Any) -> "HeadwayError":
        error = body.get("error") if isinstance(body, dict) else None
        if not isinstance(error, dict):
            return cls(f"HTTP {status}: {str(body)[:500]}", status=status)
        return cls(
            f"HTTP {status} {error.get('code')}: {error.get('message')}",
            status=status,
            code=error.get("code"),
            fields=error.get("fields"),
            request_id=error.get("request_id"),
        )


class DeliveryError(HeadwayError):
    """Events the background sender gave up on (refused by the API, or retries exhausted).

    Raised by ``flush()`` and ``close()``, so a script learns what was lost instead of exiting
    quietly. ``errors`` holds each underlying HeadwayError, ``lost_events`` how many events they
    cost, ``events`` the events themselves (the first 1,000), to log or send again.
    """

    def __init__(self, errors: List[HeadwayError], lost_events: int, events: List[dict]) -> None:
        first = errors[0]
        more = f" (and {len(errors) - 1} more errors)" if len(errors) > 1 else ""
        super().__init__(
            f"{lost_events} event(s) were not delivered: {first}{more}",
            status=first.status,
            code=first.code,
            fields=first.fields,
            request_id=first.request_id,
        )
        self.errors = errors
        self.lost_events = lost_events
        self.events = events
