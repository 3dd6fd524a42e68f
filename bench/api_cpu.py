"""CPU ms per decision through the whole WSGI app, in-process, on PostgreSQL and Redis.

Run ``python bench/api_cpu.py [--decisions N]`` to measure this tree, or
``python bench/api_cpu.py --compare A B [--rounds R]`` to measure two code versions side by
side: each of A and B is a directory holding a tree, or a git revision of this repository
(exported with ``git archive`` to a temporary directory). Each measurement runs in a process of
its own (cwd /tmp, the tree first on ``sys.path``), alternating A and B for ``--rounds`` rounds;
the minimum per version and outcome is reported, as the least disturbed by other load.

A measurement calls the WSGI application directly (no server, no socket) with POST
/api/v1/decisions: ``--decisions`` approvals (a transaction and a decision row), then as many
reviews (a case too, announced on the channel layer), each a fresh transaction, after a
warm-up. CPU is the process's own (``time.process_time``), so PostgreSQL's and Redis's work
is not counted and a loaded machine disturbs the figure less than wall-clock time. Rules only,
no model: the same small cost in every version.

It makes a throwaway PostgreSQL database (``--database``, dropped at the end) and empties its
Redis database (``--redis-db``) before and after.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
OUTCOMES = ("approve", "review")
WARM_UP = 30


def _environ(body: bytes, key: str) -> dict[str, Any]:
    return {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": "/api/v1/decisions",
        "SCRIPT_NAME": "",
        "QUERY_STRING": "",
        "SERVER_NAME": "localhost",
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "HTTP_HOST": "localhost",
        "HTTP_AUTHORIZATION": f"Token {key}",
        "CONTENT_TYPE": "application/json",
        "CONTENT_LENGTH": str(len(body)),
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": sys.stderr,
        "wsgi.url_scheme": "http",
        "wsgi.version": (1, 0),
        "wsgi.multithread": False,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
    }


def _poster(key: str) -> Callable[[str, str], tuple[str, dict[str, Any]]]:
    from django.core.wsgi import get_wsgi_application
    from django.utils import timezone

    app = get_wsgi_application()
    counter = iter(range(10**9))

    def post(outcome: str, run: str) -> tuple[str, dict[str, Any]]:
        ref = f"{run}-{outcome}-{next(counter)}"
        body = {
            "transaction_id": ref,
            "occurred_at": timezone.now().isoformat(),
            # The bench's rule reviews 20.00 and over.
            "amount": "25.00" if outcome == "review" else "5.00",
            "currency": "EUR",
            "customer_id": ref,
            "merchant_id": "merch-1",
            "channel": "ecom",
            "card_id": f"card-{ref}",
            "country": "DE",
            "ip": "203.0.113.7",
            "device_id": f"dev-{ref}",
            "email": "alice@example.com",
        }
        raw = json.dumps(body).encode()
        statuses: list[str] = []

        def start_response(status: str, headers: Any, exc_info: Any = None) -> Any:
            statuses.append(status)
            return lambda data: None

        result = app(_environ(raw, key), start_response)
        try:
            content = b"".join(result)
        finally:
            result.close()
        return statuses[0], json.loads(content)

    return post


def _measure(decisions: int) -> dict[str, float]:
    """In a child process whose tree is first on sys.path: CPU ms per decision by outcome."""
    import django

    django.setup()
    from scoring.integrators import integrator_create

    run = f"run-{os.getpid()}-{time.time_ns()}"
    post = _poster(integrator_create(name=run).key)
    cpu: dict[str, float] = {}
    for outcome in OUTCOMES:
        for _ in range(WARM_UP):
            status, body = post(outcome, run)
            if not status.startswith("201") or body["outcome"] != outcome:
                raise SystemExit(f"expected a 201 {outcome}, got {status} {body}")
        started = time.process_time()
        for _ in range(decisions):
            post(outcome, run)
        cpu[outcome] = (time.process_time() - started) * 1000 / decisions
    return cpu


def _set_up() -> None:
    """In a child process: the schema, the review rule and a queue for the cases."""
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from cases.models import Queue
    from rules.models import Rule
    from rules.services import rule_save

    rule_save(rule=Rule(name="review_big", expression="amount >= 20", action="review"))
    Queue.objects.create(name="All", position=1)


def _child(tree: str, what: str, decisions: int) -> None:
    # Not this script's directory (bench/ of whichever tree runs it): only the tree measured.
    sys.path[0] = tree
    os.chdir(tempfile.gettempdir())
    if what == "setup":
        _set_up()
    else:
        print(json.dumps(_measure(decisions)))


def _run_child(tree: Path, what: str, decisions: int, env: dict[str, str]) -> dict[str, float]:
    command = [sys.executable, __file__, "--child", what, str(tree), str(decisions)]
    done = subprocess.run(
        command, cwd=tempfile.gettempdir(), env=env, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise SystemExit(f"{tree} {what} failed:\n{done.stdout}\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1]) if what == "measure" else {}


@contextmanager
def _tree(spec: str) -> Iterator[Path]:
    """A directory as it is, or a git revision exported to a temporary directory."""
    if Path(spec).is_dir():
        yield Path(spec).resolve()
        return
    with tempfile.TemporaryDirectory(prefix="api-cpu-") as tmp:
        archive = subprocess.run(
            ["git", "-C", str(ROOT), "archive", spec], capture_output=True, check=True
        )
        subprocess.run(["tar", "-x", "-C", tmp], input=archive.stdout, check=True)
        yield Path(tmp)


def _report(results: dict[str, list[dict[str, float]]]) -> None:
    print(f"  {'version':<14} {'outcome':<8} {'min CPU ms':>10}   all rounds")
    best: dict[str, dict[str, float]] = {}
    for label, rounds in results.items():
        best[label] = {o: min(r[o] for r in rounds) for o in OUTCOMES}
        for outcome in OUTCOMES:
            runs = " ".join(f"{r[outcome]:.2f}" for r in rounds)
            print(f"  {label:<14} {outcome:<8} {best[label][outcome]:>10.3f}   {runs}")
    if len(best) == 2:
        (a, first), (b, second) = best.items()
        for outcome in OUTCOMES:
            saved = first[outcome] - second[outcome]
            print(f"  {outcome}: {b} saves {saved:.3f} CPU ms per decision over {a}")


def main(argv: Sequence[str] | None = None) -> int:
    sys.path.insert(0, str(ROOT))
    from bench.services import app_env, bench_services, services_from_args, services_parser

    parser = services_parser(__doc__, database="fo_hot", redis_db=12)
    parser.add_argument("--decisions", type=int, default=400, help="per outcome and round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--compare", nargs=2, metavar=("A", "B"))
    args = parser.parse_args(argv)
    services = services_from_args(args)
    specs = args.compare or [str(ROOT)]
    env = {**app_env(services), "LOG_LEVEL": "ERROR"}
    with bench_services(services), _trees(specs) as trees:
        _run_child(trees[0][1], "setup", 0, env)
        results: dict[str, list[dict[str, float]]] = {label: [] for label, _ in trees}
        for _ in range(args.rounds):
            for label, tree in trees:
                results[label].append(_run_child(tree, "measure", args.decisions, env))
    print(f"POST /api/v1/decisions in-process (WSGI), {args.decisions} per outcome x {args.rounds}")
    _report(results)
    return 0


@contextmanager
def _trees(specs: Sequence[str]) -> Iterator[list[tuple[str, Path]]]:
    with _tree(specs[0]) as first:
        if len(specs) == 1:
            yield [("this tree", first)]
            return
        with _tree(specs[1]) as second:
            yield [(specs[0][-14:], first), (specs[1][-14:], second)]


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "--child":
        _child(sys.argv[3], sys.argv[2], int(sys.argv[4]))
        sys.exit(0)
    sys.exit(main())
