"""Headway's producer SDK for Python (standard library only, Python ≥ 3.9).

    from headway import Headway

    with Headway(url="http://127.0.0.1:8787", api_key="hw_dev_…") as hw:
        job = hw.create_job(plan={"steps": {"resized": {"robot": "/image/resize", "use": ":original"}}}, expect_originals=1)
        job.original_added("f1", mime="image/png")
        run = job.execution("resized", original_id="f1")
        run.started(); run.progress(50, 100); run.completed()
        job.complete()
"""
import logging

from .client import Headway
from .errors import DeliveryError, HeadwayError
from .job import Execution, Job
from .progress import Reporter, TaskProgress
from .transport import HttpTransport, RetryPolicy, Transport, __version__

# A library logs to "headway" and leaves handlers to the application (undelivered events are raised by flush/close).
logging.getLogger("headway").addHandler(logging.NullHandler())

__all__ = [
    "Headway",
    "Job",
    "Execution",
    "TaskProgress",
    "Reporter",
    "HeadwayError",
    "DeliveryError",
    "RetryPolicy",
    "HttpTransport",
    "Transport",
    "__version__",
]
