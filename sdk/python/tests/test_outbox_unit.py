"""The SDK without a server: events filled in, envelopes cut to the limits, reports coalesced and
throttled, refusals reported. A recording transport stands in for HTTP."""
from __future__ import annotations

import json
import threading
import time
import unittest
from typing import Any, Dict, List

import support  # noqa: F401  (puts the SDK on sys.path)
from headway import DeliveryError, Headway, HeadwayError, Reporter


class RecordingTransport:
    def __init__(self, refuse: Any = None) -> None:
        self.envelopes: List[Dict[str, Any]] = []
        self.sizes: List[int] = []
        self.refuse = refuse  # a function (envelope) -> HeadwayError | None
        self.lock = threading.Lock()

    def send_envelope(self, job_id: str, body: bytes) -> Any:
        envelope = json.loads(body)
        error = self.refuse(envelope) if self.refuse else None
        if error is not None:
            raise error
        with self.lock:
            self.envelopes.append(envelope)
            self.sizes.append(len(body))
        return {"accepted": len(envelope["events"]), "messages": 1}

    @property
    def events(self) -> List[Dict[str, Any]]:
        return [event for envelope in self.envelopes for event in envelope["events"]]


def offline(transport: RecordingTransport, **options: Any) -> Headway:
    return Headway(url="http://headway.invalid", api_key="unused", transport=transport, **options)


class EventsTest(unittest.TestCase):
    def test_fills_in_v_event_id_at_and_attempt(self) -> None:
        transport = RecordingTransport()
        with offline(transport) as hw:
            run = hw.job("j1").execution("encoded", original_id="f1")
            run.started()
            run.progress(40, 100, unit="Bytes", step_index=(0, 2), message="copying")
            run.completed()
        started, progress, completed = transport.events
        self.assertEqual(started, {"v": 1, "type": "step.started", "job_id": "j1", "event_id": started["event_id"], "at": started["at"], "step": "encoded", "original_id": "f1", "attempt": 1})
        self.assertRegex(started["at"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
        self.assertEqual(len({started["event_id"], progress["event_id"], completed["event_id"]}), 3)
        self.assertEqual((progress["progress"], progress["unit"], progress["step_index"], progress["message"]), ([40, 100], "Bytes", [0, 2], "copying"))
        self.assertEqual(completed["result_count"], 1)
        self.assertNotIn("input_id", completed)

    def test_refuses_a_bad_id_at_the_call_that_made_it(self) -> None:
        with offline(RecordingTransport()) as hw:
            with self.assertRaisesRegex(ValueError, "original_id"):
                hw.job("j1").original_added("has space")
            with self.assertRaisesRegex(ValueError, "step_index"):
                hw.job("j1").execution("s").progress(1, 2, step_index=(2, 2))
            with self.assertRaisesRegex(ValueError, "job_id"):
                hw.job("x" * 129)

    def test_completed_takes_result_ids_or_dicts(self) -> None:
        transport = RecordingTransport()
        with offline(transport) as hw:
            hw.job("j1").execution("thumbs", original_id="f1").completed(["r1", {"result_id": "r2", "mime": "image/jpeg"}])
        self.assertEqual(transport.events[0]["results"], [{"result_id": "r1"}, {"result_id": "r2", "mime": "image/jpeg"}])


class EnvelopeTest(unittest.TestCase):
    def test_cuts_envelopes_at_500_events_in_order(self) -> None:
        transport = RecordingTransport()
        with offline(transport, linger=60) as hw:  # only full envelopes and the close send
            job = hw.job("j1")
            for i in range(1234):
                job.original_added(f"f{i}")
        self.assertEqual([len(e["events"]) for e in transport.envelopes], [500, 500, 234])
        self.assertEqual([e["original_id"] for e in transport.events], [f"f{i}" for i in range(1234)])

    def test_keeps_envelopes_under_256_kb(self) -> None:
        transport = RecordingTransport()
        with offline(transport) as hw:
            for i in range(200):
                hw.job("j1").execution("s", input_id=f"i{i}").failed("x" * 4000, will_retry=True)
        self.assertEqual(len(transport.events), 200)
        self.assertGreater(len(transport.envelopes), 3)
        self.assertTrue(all(size <= 256 * 1024 for size in transport.sizes), transport.sizes)

    def test_sends_one_job_per_envelope(self) -> None:
        transport = RecordingTransport()
        with offline(transport) as hw:
            for i in range(10):
                hw.job(f"j{i % 3}").original_added(f"f{i}")
        for envelope in transport.envelopes:
            self.assertEqual(len({e["job_id"] for e in envelope["events"]}), 1)
        self.assertEqual(len(transport.events), 10)

    def test_lingers_briefly_then_sends_without_a_flush(self) -> None:
        transport = RecordingTransport()
        hw = offline(transport, linger=0.05)
        try:
            hw.job("j1").original_added("f1")
            hw.job("j1").original_added("f2")
            deadline = time.monotonic() + 2
            while not transport.envelopes and time.monotonic() < deadline:
                time.sleep(0.01)
            self.assertEqual([len(e["events"]) for e in transport.envelopes], [2])
        finally:
            hw.close()


class TaskProgressTest(unittest.TestCase):
    def test_sends_running_totals_and_coalesces_the_queued_ones(self) -> None:
        transport = RecordingTransport()
        with offline(transport, linger=5) as hw:
            pages = hw.job("j1").progress("pages", task_id="t1")
            pages.add(1000)
            for _ in range(1000):
                pages.done(1)
        reported = [e for e in transport.events if e["type"] == "indicator.reported"]
        self.assertEqual(len(reported), 1)  # 1,001 reports queued before the linger ended: the last one says it all
        self.assertEqual({k: reported[0][k] for k in ("label", "task_id", "attempt", "added", "done")},
                         {"label": "pages", "task_id": "t1", "attempt": 1, "added": 1000, "done": 1000})

    def test_leaves_the_unnamed_indicator_without_a_label(self) -> None:
        transport = RecordingTransport()
        with offline(transport) as hw:
            hw.job("j1").progress(task_id="t1").add(3).done(1)
        self.assertNotIn("label", transport.events[-1])
        self.assertEqual((transport.events[-1]["added"], transport.events[-1]["done"]), (3, 1))


class RecordingExecution:
    def __init__(self) -> None:
        self.calls: List[tuple] = []

    def progress(self, current: Any, total: Any, unit: Any = None, step_index: Any = None, message: Any = None, at: Any = None) -> None:
        self.calls.append((current, total, unit, step_index, message))


class ReporterTest(unittest.TestCase):
    def test_sends_the_first_value_then_the_last_one_when_the_interval_ends(self) -> None:
        transport = RecordingTransport()
        with offline(transport, linger=0.01) as hw:
            reporter = hw.job("j1").execution("s", original_id="f1").reporter(update_interval=0.2)
            for i in range(100):
                reporter.report(i, 1000, unit="Bytes")
            deadline = time.monotonic() + 3  # no flush: a real timer sends the held value when the interval is up
            while len(transport.events) < 2 and time.monotonic() < deadline:
                time.sleep(0.02)
            self.assertEqual([e["progress"] for e in transport.events], [[0, 1000], [99, 1000]])
            self.assertEqual(reporter.sent, 2)

    def test_throttles_by_step_and_flushes_the_held_value(self) -> None:
        run = RecordingExecution()
        reporter = Reporter(run, update_interval=None, update_step=10)
        for i in range(106):
            reporter.report(i, 200)
        reporter.flush()
        self.assertEqual([call[0] for call in run.calls], [0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 105])

    def test_the_client_flush_sends_held_values(self) -> None:
        transport = RecordingTransport()
        with offline(transport) as hw:
            reporter = hw.job("j1").execution("s", original_id="f1").reporter(update_interval=60)
            reporter.report(1, 10)
            reporter.report(7, 10)
            hw.flush()
            self.assertEqual(transport.events[-1]["progress"], [7, 10])

    def test_drops_a_held_value_when_the_execution_completes(self) -> None:
        transport = RecordingTransport()
        with offline(transport) as hw:
            run = hw.job("j1").execution("s", original_id="f1")
            reporter = run.reporter(update_interval=60)
            reporter.report(1, 10)
            reporter.report(9, 10)
            run.completed()
        self.assertEqual([e["type"] for e in transport.events], ["step.progress", "step.completed"])


class DeliveryErrorTest(unittest.TestCase):
    def test_sends_the_events_a_400_did_not_name_and_reports_the_one_it_did(self) -> None:
        def refuse(envelope: Dict[str, Any]) -> Any:
            names = [e["original_id"] for e in envelope["events"]]
            if "bad" in names:
                i = names.index("bad")
                return HeadwayError("refused", status=400, code="invalid_event", fields=[{"field": f"events[{i}].mime", "message": "must be a MIME type"}])
            return None

        transport = RecordingTransport(refuse)
        hw = offline(transport)
        for name in ("a", "bad", "c"):
            hw.job("j1").original_added(name)
        with self.assertRaises(DeliveryError) as raised:
            hw.flush()
        self.assertEqual([e["original_id"] for e in transport.events], ["a", "c"])
        self.assertEqual(raised.exception.lost_events, 1)
        self.assertEqual(raised.exception.events[0]["original_id"], "bad")
        self.assertEqual(raised.exception.fields, [{"field": "events[1].mime", "message": "must be a MIME type"}])
        hw.close()  # reported once: the next flush has nothing to say

    def test_reports_an_envelope_the_transport_gave_up_on_at_close(self) -> None:
        seen = []
        hw = offline(RecordingTransport(lambda envelope: HeadwayError("HTTP 503 (gave up)", status=503)), on_error=seen.append)
        hw.job("j1").complete()
        with self.assertRaises(DeliveryError) as raised:
            hw.close()
        self.assertEqual((raised.exception.status, raised.exception.lost_events), (503, 1))
        self.assertEqual(len(seen), 1)

    def test_refuses_events_after_close(self) -> None:
        hw = offline(RecordingTransport())
        hw.close()
        with self.assertRaisesRegex(HeadwayError, "closed"):
            hw.job("j1").complete()


if __name__ == "__main__":
    unittest.main()
