"""The SDK against a real sandbox (`headway start --json --memory --port 0`): what a worker
reports through it is what the job's snapshot shows."""
from __future__ import annotations

import unittest

from support import client, unique_id, wait_for
from headway import HeadwayError

PLAN = {"steps": {
    "thumbs": {"robot": "/video/thumbs", "use": ":original", "accepts": ["video/*"], "results_per_input": 2, "output_mime": "image/jpeg"},
    "resized": {"robot": "/image/resize", "use": ["thumbs", ":original"], "accepts": ["image/*"]},
}}


class JobLifecycleTest(unittest.TestCase):
    def test_a_job_driven_through_the_sdk_ends_at_100_and_completed(self) -> None:
        with client() as hw:
            job = hw.create_job(unique_id("py-life"), plan=PLAN)
            self.assertTrue(job.status_url.endswith(f"/v1/jobs/{job.job_id}"))
            self.assertTrue(job.subscriber_token)
            job.original_added("video", mime="video/mp4")
            job.original_added("image", mime="image/png")
            job.sealed(2)
            thumbs = job.execution("thumbs", original_id="video")
            thumbs.started()
            thumbs.progress(1, 2, unit="frames", step_index=(0, 1), message="extracting")
            thumbs.completed([{"result_id": "t1", "original_id": "video"}, {"result_id": "t2", "original_id": "video"}])
            for input_id in ("t1", "t2"):
                job.execution("resized", original_id="video", input_id=input_id).completed()
            halfway = job.execution("resized", original_id="image")
            halfway.progress(50, 100)
            hw.flush()
            files = lambda s: {f["original_id"]: f["progress"] for f in s["progress_per_original_file"]}  # noqa: E731
            shown = wait_for(job.snapshot, lambda s: files(s) == {"video": 100, "image": 50})
            self.assertEqual((shown["status"], shown["progress_combined"]), ("executing", 87))  # 3.5 of 4 executions
            halfway.completed()
            hw.flush()
            done = wait_for(job.snapshot, lambda s: s["progress_combined"] == 100)
            self.assertEqual(done["status"], "executing")  # 100 % alone does not complete a job
            job.complete()
        final = wait_for(job.snapshot, lambda s: s["status"] == "completed")
        self.assertEqual((final["progress_combined"], final["eta_seconds"]), (100, 0))

    def test_a_refused_request_raises_with_the_apis_fields(self) -> None:
        with client() as hw:
            with self.assertRaises(HeadwayError) as raised:
                hw.create_job(unique_id("py-bad"), plan={"steps": {"a": {"robot": "/x", "results_per_inpt": 2}}})
        self.assertEqual(raised.exception.status, 400)
        self.assertTrue(any("results_per_inpt" in field["field"] for field in raised.exception.fields), raised.exception.fields)

    def test_a_job_handle_from_an_id_reads_and_cancels(self) -> None:
        with client() as hw:
            created = hw.create_job(unique_id("py-cancel"))
            hw.job(created.job_id).cancel()
        self.assertEqual(wait_for(created.snapshot, lambda s: s["status"] == "cancelled")["status"], "cancelled")


class ThrottledReporterTest(unittest.TestCase):
    def test_the_last_value_of_a_throttled_reporter_arrives(self) -> None:
        with client() as hw:
            job = hw.create_job(unique_id("py-reporter"), plan={"steps": {"copied": {"robot": "/s3/store", "use": ":original"}}})
            job.original_added("f1", mime="application/octet-stream")
            job.sealed(1)
            reporter = job.execution("copied", original_id="f1").reporter(update_interval=30)
            for sent in range(0, 1_048_576, 4096):  # up to the last 4 KB: not finished, so held
                reporter.report(sent, 1_048_576, unit="Bytes")
            self.assertEqual(reporter.sent, 1)  # only the first went out at once; the rest is held
        # close() flushed the held value: the execution shows the last byte count reported
        shown = wait_for(lambda: job.snapshot(detail=True), lambda s: bool(s["detail"]["in_flight"]) and s["detail"]["in_flight"][0]["progress"] == [1_044_480, 1_048_576])
        self.assertEqual(shown["detail"]["in_flight"][0]["unit"], "Bytes")
        self.assertEqual(shown["detail"]["true_progress_combined"], 99)  # all bytes, not yet completed


class RetriedTaskTest(unittest.TestCase):
    def test_a_retried_task_counts_only_its_last_attempt(self) -> None:
        with client() as hw:
            job = hw.create_job(unique_id("py-retry"))
            first = job.progress("pages", task_id="t1", attempt=1)
            first.add(10)
            first.done(8)
            hw.flush()
            wait_for(job.snapshot, lambda s: s["indicators"] == [{"label": "pages", "done": 8, "total": 10}])
            second = job.progress("pages", task_id="t1", attempt=2)
            second.add(10)
            second.done(2)
            other = job.progress("pages", task_id="t2")
            other.add(5)
            hw.flush()
            # attempt 1's 8 done no longer count: 2 of t1 plus 0 of t2, out of 15
            shown = wait_for(job.snapshot, lambda s: s["indicators"] == [{"label": "pages", "done": 2, "total": 15}])
            self.assertEqual(shown["progress_combined"], 80)  # displayed values never run backwards
            second.done(8)
            other.done(5)
        final = wait_for(job.snapshot, lambda s: s["progress_combined"] == 100)
        self.assertEqual(final["indicators"], [{"label": "pages", "done": 15, "total": 15}])

    def test_a_retried_execution_replaces_what_its_first_attempt_reported(self) -> None:
        with client() as hw:
            job = hw.create_job(unique_id("py-exec-retry"), plan={"steps": {"encoded": {"robot": "/video/encode", "use": ":original"}}})
            job.original_added("f1", mime="video/mp4")
            job.sealed(1)
            first = job.execution("encoded", original_id="f1", attempt=1)
            first.progress(80, 100)
            first.failed("worker lost", will_retry=True)
            job.execution("encoded", original_id="f1", attempt=2).progress(10, 100)
        shown = wait_for(lambda: job.snapshot(detail=True), lambda s: s["detail"]["true_progress_combined"] == 10)
        self.assertEqual(shown["detail"]["in_flight"][0]["attempt"], 2)


class CloseTest(unittest.TestCase):
    def test_nothing_is_lost_on_close(self) -> None:
        count = 1_200  # three envelopes and more of each kind
        hw = client()
        job = hw.create_job(unique_id("py-close"), plan={"steps": {"stored": {"robot": "/s3/store", "use": ":original"}}}, expect_originals=count)
        for i in range(count):
            job.original_added(f"f{i}", mime="image/png")
            job.execution("stored", original_id=f"f{i}").completed()
        job.complete()
        hw.close()  # at once: everything still queued must go out before close returns
        final = wait_for(job.snapshot, lambda s: s["status"] == "completed" and len(s["progress_per_original_file"]) == count, timeout=40)
        self.assertTrue(all(f["progress"] == 100 for f in final["progress_per_original_file"]))
        rejections = hw._http.request("GET", f"/v1/jobs/{job.job_id}/rejections").body["rejections"]
        self.assertEqual(rejections, [])


if __name__ == "__main__":
    unittest.main()
