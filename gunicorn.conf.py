"""gunicorn reads this file from the working directory: ``gunicorn fraudops.wsgi`` needs no flag."""

import os
from typing import Any

from prometheus_client import multiprocess


def child_exit(server: Any, worker: Any) -> None:
    # A dead worker's "live" gauges (fraudops_dependency_up) must not outlive it in /metrics.
    if os.getenv("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.mark_process_dead(worker.pid)  # type: ignore[no-untyped-call]


def post_worker_init(worker: Any) -> None:
    """Warm the serving path once the worker has loaded the app, before it accepts a request."""
    # Imported here: gunicorn reads this file before the worker has set Django up.
    from scoring import serving
    from scoring.shadow import shadow_filler_start

    serving.warm_up()
    # The embedded default's shadow worker (nothing with a broker: beat does it there).
    shadow_filler_start()
