"""gunicorn reads this file from the working directory: ``gunicorn fraudops.wsgi`` needs no flag."""

import os
from typing import Any

from prometheus_client import multiprocess


def child_exit(server: Any, worker: Any) -> None:
    # A dead worker's "live" gauges (fraudops_dependency_up) must not outlive it in /metrics.
    if os.getenv("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.mark_process_dead(worker.pid)  # type: ignore[no-untyped-call]
