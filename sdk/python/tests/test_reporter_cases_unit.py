"""The reporter's semantics, from the table of cases the TypeScript SDK's tests run too
(sdk/fixtures/reporter-cases.json): the two SDKs cannot drift apart without one of them failing."""
from __future__ import annotations

import json
import unittest
from datetime import datetime
from typing import Any, Callable, Dict, List, Optional

from support import REPO_DIR  # noqa: F401  (puts the SDK on sys.path)

from headway import Reporter

TABLE = json.loads((REPO_DIR / "sdk" / "fixtures" / "reporter-cases.json").read_text(encoding="utf-8"))


class FakeTime:
    """An injected clock in milliseconds and the timers it fires, each at its own time."""

    def __init__(self) -> None:
        self.now_ms = 0
        self._timers: List["FakeTimer"] = []

    def clock(self) -> float:
        return self.now_ms / 1000

    def timer(self, delay: float, fire: Callable[[], None]) -> "FakeTimer":
        timer = FakeTimer(self.now_ms + round(delay * 1000), len(self._timers), fire)
        self._timers.append(timer)
        return timer

    def advance_to(self, ms: int) -> None:
        while True:
            due = [t for t in self._timers if not t.cancelled and t.due_ms <= ms]
            if not due:
                break
            first = min(due, key=lambda t: (t.due_ms, t.order))
            first.cancelled = True
            self.now_ms = first.due_ms
            first.fire()
        self.now_ms = ms


class FakeTimer:
    def __init__(self, due_ms: int, order: int, fire: Callable[[], None]) -> None:
        self.due_ms, self.order, self.fire = due_ms, order, fire
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True


class RecordingExecution:
    def __init__(self, time_: FakeTime) -> None:
        self.time = time_
        self.sent: List[Dict[str, Any]] = []

    def progress(self, current: Any, total: Any, unit: Optional[str] = None, step_index: Any = None,
                 message: Optional[str] = None, at: Optional[datetime] = None) -> None:
        value: Dict[str, Any] = {"at": round(at.timestamp() * 1000), "sent_at": self.time.now_ms, "progress": [current, total]}
        if unit is not None:
            value["unit"] = unit
        if step_index is not None:
            value["step_index"] = list(step_index)
        if message is not None:
            value["message"] = message
        self.sent.append(value)


def run(case: Dict[str, Any]) -> List[Dict[str, Any]]:
    time_ = FakeTime()
    execution = RecordingExecution(time_)
    options = case["options"]
    throttles: Dict[str, Any] = {}
    if "update_interval_ms" in options:
        throttles["update_interval"] = options["update_interval_ms"] / 1000
    if "update_step" in options:
        throttles["update_step"] = options["update_step"]
    reporter = Reporter(execution, clock=time_.clock, timer=time_.timer, **throttles)  # type: ignore[arg-type]
    for call in case["calls"]:
        time_.advance_to(call["advance_to"] if "advance_to" in call else call["at"])
        if "report" in call:
            current, total = call["report"]
            report = lambda: reporter.report(current, total, unit=call.get("unit"), step_index=call.get("step_index"), message=call.get("message"))  # noqa: E731
            if call.get("refused"):
                with unittest.TestCase().assertRaises(RuntimeError):
                    report()
            else:
                report()
        if call.get("flush"):
            reporter.flush()
        if call.get("close"):
            reporter.close()
        if call.get("cancel"):
            reporter.discard()
    return execution.sent


class ReporterCasesTest(unittest.TestCase):
    def test_every_case_of_the_shared_table(self) -> None:
        self.assertGreater(len(TABLE["cases"]), 10)
        for case in TABLE["cases"]:
            with self.subTest(case["name"]):
                self.assertEqual(run(case), case["sent"])


if __name__ == "__main__":
    unittest.main()
