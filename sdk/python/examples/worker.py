"""A worker that reports a small pipeline to Headway: three files are "uploaded", each is
"encoded" with throttled byte progress, a counter tracks pages, and the job completes.

    npx headway start                       # in another terminal: prints the URL and an API key
    HEADWAY_API_KEY=hw_dev_… python3 sdk/python/examples/worker.py

HEADWAY_URL defaults to the sandbox's http://127.0.0.1:8787.
"""
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the SDK beside this example

from headway import Headway  # noqa: E402

PLAN = {"steps": {
    "encoded": {"robot": "/video/encode", "use": ":original", "accepts": ["video/*"]},
    "stored": {"robot": "/s3/store", "use": "encoded"},
}}
FILES = {"intro.mp4": 3_000_000, "talk.mp4": 8_000_000, "outro.mp4": 1_000_000}


def encode(job, name: str, size: int) -> None:
    run = job.execution("encoded", original_id=name)
    run.started()
    reporter = run.reporter(update_interval=0.3)  # at most ~3 reports a second, the last one always sent
    for done in range(0, size + 1, 250_000):
        reporter.report(done, size, unit="Bytes", message=f"encoding {name}")
        time.sleep(0.02)
    run.completed([{"result_id": f"{name}.encoded", "original_id": name, "mime": "video/mp4"}])
    job.execution("stored", original_id=name, input_id=f"{name}.encoded").completed()


def main() -> None:
    url = os.environ.get("HEADWAY_URL", "http://127.0.0.1:8787")
    api_key = os.environ["HEADWAY_API_KEY"]
    with Headway(url=url, api_key=api_key) as hw:
        job = hw.create_job(plan=PLAN, expect_originals=len(FILES))
        print(f"job {job.job_id}: watch {job.status_url}")
        for name in FILES:
            job.original_added(name, mime="video/mp4")
        job.sealed(len(FILES))

        pages = job.progress("pages", task_id="captions")  # Tilebox-style counted work
        pages.add(12)
        with ThreadPoolExecutor(max_workers=3) as pool:
            encodings = [pool.submit(encode, job, name, size) for name, size in FILES.items()]
            for _ in range(12):
                pages.done(1)
            for encoding in encodings:
                encoding.result()  # re-raises a worker's exception
        job.complete()  # a job ends only when its producer says so
    # leaving the `with` block flushed and closed the client: every report is with Headway now
    for _ in range(100):
        snapshot = hw.snapshot(job.job_id)
        if snapshot["status"] == "completed":
            break
        time.sleep(0.1)
    print(f"{snapshot['status']}: {snapshot['progress_combined']} %, files {[f['progress'] for f in snapshot['progress_per_original_file']]}, indicators {snapshot['indicators']}")


if __name__ == "__main__":
    main()
