"""Retries against a local HTTP server in front of the sandbox that fails the first requests:
429 and 5xx are retried with backoff, a lost answer does not turn a created job into a clash,
other 4xx raise at once, and retries that run out are reported, never dropped in silence."""
from __future__ import annotations

import json
import unittest
import urllib.request

from support import FAST_RETRY, FlakyProxy, client, sandbox, unique_id, wait_for
from headway import DeliveryError, Headway, HeadwayError, RetryPolicy


class RetryTest(unittest.TestCase):
    def proxy(self, script) -> FlakyProxy:
        proxy = FlakyProxy(sandbox().url, script)
        self.addCleanup(proxy.close)
        return proxy

    def test_creating_a_job_is_retried_on_503_429_and_500(self) -> None:
        proxy = self.proxy([503, 429, 500])
        with client(url=proxy.url, retry=FAST_RETRY) as hw:
            job = hw.create_job(unique_id("py-flaky-create"))
        self.assertEqual(len(proxy.seen), 4)
        self.assertTrue(job.subscriber_token)

    def test_an_envelope_is_retried_until_it_is_accepted(self) -> None:
        proxy = self.proxy([])
        with client(url=proxy.url, retry=FAST_RETRY) as hw:
            job = hw.create_job(unique_id("py-flaky-events"))
            proxy.script.extend([502, 429, 503])
            counter = job.progress(task_id="t1")
            counter.add(4)
            counter.done(4)
        self.assertEqual(proxy.seen[1:], [f"/v1/jobs/{job.job_id}/events"] * 4)
        self.assertEqual(wait_for(job.snapshot, lambda s: s["progress_combined"] == 100)["indicators"], [{"label": None, "done": 4, "total": 4}])

    def test_a_job_created_by_an_attempt_whose_answer_was_lost_is_returned_not_refused(self) -> None:
        proxy = self.proxy(["drop"])  # the job is created, the connection closes before the answer
        job_id = unique_id("py-lost-answer")
        with client(url=proxy.url, retry=FAST_RETRY) as hw:
            job = hw.create_job(job_id)
            self.assertEqual(job.job_id, job_id)
            self.assertTrue(job.subscriber_token)
            with self.assertRaises(HeadwayError) as raised:  # a clash that no lost answer explains stays a clash
                hw.create_job(job_id)
            self.assertEqual(raised.exception.status, 409)
        self.assertEqual(proxy.seen[:3], ["/v1/jobs", "/v1/jobs", "/v1/tokens"])

    def test_a_lost_answer_with_a_key_that_may_not_read_returns_the_job_without_a_token(self) -> None:
        box = sandbox()
        if box.admin_token is None:
            self.skipTest("making a key needs the admin token of a sandbox this run started")
        request = urllib.request.Request(f"{box.url}/v1/admin/tenants/default/keys", data=json.dumps({"name": "py worker", "scopes": ["ingest"]}).encode(),
                                         headers={"authorization": f"Bearer {box.admin_token}", "content-type": "application/json"}, method="POST")
        with urllib.request.urlopen(request) as answer:
            key = json.load(answer)["key"]
        proxy = self.proxy(["drop"])
        job_id = unique_id("py-lost-answer-ingest-only")
        with Headway(url=proxy.url, api_key=key, retry=FAST_RETRY) as hw:
            job = hw.create_job(job_id)
        self.assertEqual(job.job_id, job_id)
        self.assertIsNone(job.subscriber_token)  # a token reads the job: an ingest-only key gets none
        self.assertEqual(proxy.seen[:3], ["/v1/jobs", "/v1/jobs", "/v1/tokens"])

    def test_an_envelope_whose_answer_was_lost_is_sent_again_and_counted_once(self) -> None:
        proxy = self.proxy([])
        with client(url=proxy.url, retry=FAST_RETRY) as hw:
            job = hw.create_job(unique_id("py-lost-envelope"))
            proxy.script.append("drop")
            job.progress("rows", task_id="t1").add(6).done(3)
            job.send("indicator.done", label="rows", task_id="t1", attempt=1, amount=1)  # a delta: deduplicated by event_id
        self.assertEqual(proxy.seen.count(f"/v1/jobs/{job.job_id}/events"), 2)
        shown = wait_for(job.snapshot, lambda s: s["indicators"] != [])
        self.assertEqual(shown["indicators"], [{"label": "rows", "done": 4, "total": 6}])

    def test_a_400_is_not_retried(self) -> None:
        proxy = self.proxy([])
        with client(url=proxy.url, retry=FAST_RETRY) as hw:
            with self.assertRaises(HeadwayError) as raised:
                hw.create_job(unique_id("py-400"), expect_originals=-1)
        self.assertEqual((raised.exception.status, len(proxy.seen)), (400, 1))
        self.assertEqual(raised.exception.fields[0]["field"], "expect_originals")

    def test_events_are_reported_when_retries_run_out(self) -> None:
        proxy = self.proxy([])
        hw = client(url=proxy.url, retry=RetryPolicy(max_attempts=3, base_delay=0.01, max_delay=0.02))
        job = hw.create_job(unique_id("py-give-up"))
        proxy.script.extend([503] * 3)
        job.complete()
        with self.assertRaises(DeliveryError) as raised:
            hw.close()
        self.assertEqual((raised.exception.status, raised.exception.lost_events), (503, 1))
        self.assertEqual(raised.exception.events[0]["type"], "job.completed")
        self.assertIn("gave up after 3 attempts", str(raised.exception))


if __name__ == "__main__":
    unittest.main()
