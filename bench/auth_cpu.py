"""CPU per API-key authentication of a valid key, in-process, on PostgreSQL and Redis.

Run ``python bench/auth_cpu.py [--calls 10000] [--tree DIR]`` with ``DATABASE_URL`` (a
migrated database: a key is issued in a transaction rolled back at the end) and
``REDIS_URL``. It calls ``api_key_authenticate`` ``--calls`` times with one valid key, after
a warm-up, and prints the CPU (``time.process_time``: this process's own, not Redis's)
per call. ``--tree`` measures another checkout (e.g. ``git archive main`` unpacked): its
code is imported instead of this one's (run it from that directory: the settings put the
working directory first on ``sys.path``). In a tree with the per-process cache
(``scoring.auth.LOCAL_KEYS``) it is measured twice: with it, and with it never trusted (the
path every request took before: one Redis MGET, the key unpickled).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Any

WARM_UP = 200


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=10_000)
    parser.add_argument("--tree", type=Path, default=Path(__file__).resolve().parents[1])
    args = parser.parse_args()
    sys.path.insert(0, str(args.tree.resolve()))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "fraudops.settings")
    # Imported here: Django is set up from the tree chosen on the command line.
    import django
    from django.db import transaction

    django.setup()
    from scoring import auth, integrators
    from scoring.models import Integrator

    with transaction.atomic():
        integrator = Integrator.objects.create(name=f"bench-{os.getpid()}")
        issued = integrators.api_key_issue(integrator=integrator)
        hashed = auth.key_hash(issued.key)
        local = getattr(auth, "LOCAL_KEYS", None)
        if local is None:
            _report("without a per-process cache", _measure(auth, hashed, args.calls))
        else:
            _wait_trusted(auth, hashed)
            _report("per-process cache", _measure(auth, hashed, args.calls))
            local.trusted = lambda: False  # the old path: Redis MGET (then the database)
            _report("per-process cache never trusted", _measure(auth, hashed, args.calls))
        transaction.set_rollback(True)


def _wait_trusted(auth: Any, hashed: str) -> None:
    deadline = time.monotonic() + 10
    while not auth.LOCAL_KEYS.trusted():
        auth.api_key_authenticate(hashed=hashed, address="127.0.0.1")  # starts the listener
        if time.monotonic() > deadline:
            raise SystemExit("the revocation channel was never subscribed: is REDIS_URL set?")
        time.sleep(0.05)


def _measure(auth: Any, hashed: str, calls: int) -> float:
    for _ in range(WARM_UP):
        auth.api_key_authenticate(hashed=hashed, address="127.0.0.1")
    started = time.process_time()
    for _ in range(calls):
        auth.api_key_authenticate(hashed=hashed, address="127.0.0.1")
    return (time.process_time() - started) / calls


def _report(label: str, seconds: float) -> None:
    print(f"{label}: {seconds * 1e6:.1f} µs CPU per authentication")


if __name__ == "__main__":
    main()
