"""Drift closes the loop, measured: ``python bench/drift_loop.py`` (about 4 minutes on 2 cores).

On a throwaway PostgreSQL database (``--database``, default ``fraudops_bench_drift``) and Redis
database (``--redis-db``, default 14), both removed at the end (``--keep`` leaves them):
``migrate``, then ``manage.py drift_loop`` (scoring/simulation/drift_loop.py), which prints the
drift check's findings and both average precisions on the challenger's post-drift holdout.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.services import app_env, bench_services, manage, services_from_args, services_parser


def main() -> None:
    parser = services_parser(__doc__, database="fraudops_bench_drift", redis_db=14, keep=True)
    parser.add_argument("--seed", default="7")
    parser.add_argument("--customers", default="100")
    args = parser.parse_args()
    services = services_from_args(args)
    with bench_services(services, keep=args.keep):
        env = app_env(services, MODEL_REFRESH_SECONDS="0.5")
        manage(env, "migrate", "-v0")
        ran = manage(env, "drift_loop", "--seed", args.seed, "--customers", args.customers)
        print(ran.stdout, end="")


if __name__ == "__main__":
    main()
