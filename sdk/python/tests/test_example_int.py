"""The docs' examples run as written against the sandbox."""
from __future__ import annotations

import os
import re
import subprocess
import sys
import unittest

from support import REPO_DIR, SDK_DIR, sandbox, wait_for
from headway import Headway


class ExampleTest(unittest.TestCase):
    def test_the_example_worker_ends_with_a_completed_job(self) -> None:
        box = sandbox()
        env = dict(os.environ, HEADWAY_URL=box.url, HEADWAY_API_KEY=box.api_key)
        run = subprocess.run([sys.executable, str(SDK_DIR / "examples" / "worker.py")], env=env, capture_output=True, text=True, timeout=120)
        self.assertEqual(run.returncode, 0, run.stderr)
        last = run.stdout.strip().splitlines()[-1]
        self.assertEqual(last, "completed: 100 %, files [100, 100, 100], indicators [{'label': 'pages', 'done': 12, 'total': 12}]")

    def test_the_python_snippets_of_the_docs_run_as_written(self) -> None:
        box = sandbox()
        env = dict(os.environ, HEADWAY_URL=box.url, HEADWAY_API_KEY=box.api_key, PYTHONPATH=str(SDK_DIR))
        for readme in (REPO_DIR / "docs" / "sdk-python.md", SDK_DIR / "README.md"):
            snippets = re.findall(r"```python\n(.*?)```", readme.read_text(), re.S)
            self.assertTrue(snippets, readme)
            for snippet in snippets:
                with self.subTest(readme=readme.name, snippet=snippet[:60]):
                    run = subprocess.run([sys.executable, "-c", snippet + "\nprint('JOB', job.job_id)"], env=env, capture_output=True, text=True, timeout=60)
                    self.assertEqual(run.returncode, 0, run.stderr)
                    job_id = run.stdout.split("JOB ")[-1].strip()
                    with Headway(url=box.url, api_key=box.api_key) as hw:
                        final = wait_for(lambda: hw.snapshot(job_id), lambda s: s["status"] == "completed")
                    self.assertEqual(final["progress_combined"], 100)


if __name__ == "__main__":
    unittest.main()
