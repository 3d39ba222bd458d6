"""A job in a notebook: displaying its handle reads the job and shows its figures, or says why not."""
from __future__ import annotations

import socket
import time
import unittest

from support import client, sandbox, unique_id, wait_for
from headway import Headway

PLAN = {"steps": {"resized": {"robot": "/image/resize", "use": ":original"}}}


class NotebookViewTest(unittest.TestCase):
    def test_repr_and_html_show_the_jobs_figures_files_and_labels(self) -> None:
        with client() as hw:
            job = hw.create_job(unique_id("py-notebook"), plan=PLAN, expect_originals=2)
            job.original_added("cat.jpg", mime="image/jpeg")
            job.original_added("dog.png", mime="image/png")
            job.sealed(2)
            job.execution("resized", original_id="cat.jpg").completed()
            job.execution("resized", original_id="dog.png").progress(25, 100)
            job.progress("pages", task_id="t1").add(4).done(1)
            hw.flush()
            wait_for(job.snapshot, lambda s: s["progress_combined"] == 62 and s["indicators"])
            self.assertEqual(repr(job).splitlines(), [
                f"Job({job.job_id!r}) executing · 62 % · version {job.snapshot()['version']}",
                "  dog.png  25 %",
                "  cat.jpg  100 %",
                "  pages    1/4",
            ])
            page = job._repr_html_()
            for expected in (f"Job {job.job_id}", "width:62.0%", "dog.png", "width:25.0%", "cat.jpg", "width:100.0%", "pages", "1/4"):
                self.assertIn(expected, page)

    def test_a_key_that_cannot_read_shows_why_instead_of_raising(self) -> None:
        box = sandbox()
        with Headway(url=box.url, api_key="hw_live_" + "0" * 32) as hw:
            job = hw.job("anything")
            self.assertTrue(repr(job).startswith("Job('anything') (progress not available: HTTP 401"), repr(job))
            self.assertIn("progress not available (HTTP 401", job._repr_html_())

    def test_an_unreachable_service_is_shown_after_one_try_not_after_the_senders_retries(self) -> None:
        with socket.socket() as closed:
            closed.bind(("127.0.0.1", 0))
            port = closed.getsockname()[1]
        hw = Headway(url=f"http://127.0.0.1:{port}", api_key="hw_live_" + "0" * 32)
        started = time.monotonic()
        shown = repr(hw.job("anything"))
        self.assertLess(time.monotonic() - started, 2.0)  # the sender's policy would retry for about 20 s
        self.assertTrue(shown.startswith("Job('anything') (progress not available: GET /v1/jobs/anything"), shown)
        hw.close()


if __name__ == "__main__":
    unittest.main()
