"""HTTP to Headway's API with retries: exponential backoff with jitter on 429, 5xx and network
errors; any other 4xx raises at once. The only module that opens connections."""
from __future__ import annotations

import http.client
import json
import random
import socket
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Any, Callable, Dict, Mapping, NamedTuple, Optional, Protocol

from .errors import HeadwayError

__version__ = "0.1.0"


@dataclass(frozen=True)
class RetryPolicy:
    """How long to keep trying one request.

    The n-th retry waits ``min(max_delay, base_delay·2^(n-1))``, of which a random half is jitter
    (so many workers refused at once do not come back at once), and never less than a 429's or
    503's ``Retry-After``. Defaults: 8 attempts over about 20 s.
    """

    max_attempts: int = 8
    base_delay: float = 0.1
    max_delay: float = 10.0

    def delay(self, retry: int, retry_after: Optional[float] = None) -> float:
        cap = min(self.max_delay, self.base_delay * (2 ** (retry - 1)))
        wait = cap / 2 + random.uniform(0, cap / 2)
        if retry_after is not None:
            wait = max(wait, min(retry_after, 60.0))
        return wait


class Response(NamedTuple):
    status: int
    body: Any
    #: True when an earlier attempt may have reached the server (its answer was lost or a 5xx).
    was_ambiguous: bool


class Transport(Protocol):
    """What the background sender needs: deliver one envelope of one job, or raise HeadwayError."""

    def send_envelope(self, job_id: str, body: bytes) -> Any: ...


def _is_retryable_status(status: int) -> bool:
    return status == 408 or status == 429 or status >= 500


def _retry_after(headers: Optional[Mapping[str, str]]) -> Optional[float]:
    value = headers.get("Retry-After") if headers is not None else None
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None  # an HTTP date: fall back to our own backoff


class HttpTransport:
    """Requests to one Headway API with one API key; thread-safe (a connection per request)."""

    def __init__(
        self,
        url: str,
        api_key: str,
        *,
        timeout: float = 15.0,
        retry: RetryPolicy = RetryPolicy(),
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.url = url.rstrip("/")
        self._api_key = api_key
        self.timeout = timeout
        self.retry = retry
        self._sleep = sleep

    def send_envelope(self, job_id: str, body: bytes) -> Any:
        return self.request("POST", f"/v1/jobs/{urllib.parse.quote(job_id, safe='')}/events", raw_body=body).body

    def request(self, method: str, path: str, json_body: Any = None, *, raw_body: Optional[bytes] = None) -> Response:
        """One API call, retried; returns the 2xx answer, raises HeadwayError for anything else.

        A 4xx other than 408/429 is raised at once with the API's ``error.fields``; 429, 5xx and
        network errors are retried up to ``retry.max_attempts`` times, then raised.
        """
        data = raw_body if raw_body is not None else (None if json_body is None else json.dumps(json_body, separators=(",", ":")).encode())
        was_ambiguous = False
        attempt = 0
        while True:
            attempt += 1
            retry_after: Optional[float] = None
            try:
                status, headers, payload = self._once(method, path, data)
            except _NetworkError as failure:
                error = HeadwayError(f"{method} {path}: {failure.reason}")
                was_ambiguous = was_ambiguous or failure.may_have_arrived
            else:
                if status < 300:
                    return Response(status, payload, was_ambiguous)
                error = HeadwayError.from_response(status, payload)
                if not _is_retryable_status(status):
                    error.was_ambiguous = was_ambiguous
                    raise error
                retry_after = _retry_after(headers)
                was_ambiguous = was_ambiguous or (status >= 500 and status != 503)
            if attempt >= self.retry.max_attempts:
                error.message = f"{error.message} (gave up after {attempt} attempts)"
                error.args = (error.message,)
                raise error
            self._sleep(self.retry.delay(attempt, retry_after))

    def _once(self, method: str, path: str, data: Optional[bytes]):
        headers = {
            "Authorization": f"Bearer {self._api_key}",
            "Accept": "application/json",
            "User-Agent": f"headway-python/{__version__}",
        }
        if data is not None:
            headers["Content-Type"] = "application/json"
        request = urllib.request.Request(self.url + path, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as answer:
                return answer.status, answer.headers, _json(answer.read())
        except urllib.error.HTTPError as answer:
            with answer:
                return answer.code, answer.headers, _json(answer.read())
        except urllib.error.URLError as failure:
            # Refused or unresolvable: the request never reached a server.
            reached = not isinstance(failure.reason, (ConnectionRefusedError, socket.gaierror))
            raise _NetworkError(str(failure.reason), reached) from failure
        except (http.client.HTTPException, ConnectionError, socket.timeout, TimeoutError, OSError) as failure:
            raise _NetworkError(f"{type(failure).__name__}: {failure}", True) from failure


class _NetworkError(Exception):
    def __init__(self, reason: str, may_have_arrived: bool) -> None:
        super().__init__(reason)
        self.reason = reason
        self.may_have_arrived = may_have_arrived


def _json(raw: bytes) -> Any:
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return raw.decode("utf-8", "replace")


def dumps(value: Dict[str, Any]) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
