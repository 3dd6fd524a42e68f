"""How steady this machine's speed is: ``python bench/cpu_speed.py [--seconds 40]``.

Times one fixed loop of pure Python again and again (a pause between runs, so the machine is
otherwise idle) and prints the spread of the CPU time each run took. On a machine of constant
speed the spread is a few percent; where it is wide (a virtual machine sharing its cores, a
clock that scales), latencies measured a minute apart differ by as much, whatever the code
does: ``bench/shadow_latency.py`` compares its halves at the same speed for that reason.
"""

from __future__ import annotations

import argparse
import statistics
import time

LOOP = 300_000


def one_run() -> float:
    """CPU milliseconds of the fixed loop."""
    started = time.process_time()
    x = 0
    for i in range(LOOP):
        x += i * i % 7
    return (time.process_time() - started) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=40.0)
    args = parser.parse_args()
    runs: list[float] = []
    deadline = time.monotonic() + args.seconds
    while time.monotonic() < deadline:
        runs.append(one_run())
        time.sleep(0.2)
    runs.sort()
    cuts = statistics.quantiles(runs, n=10)
    print(
        f"{len(runs)} runs of the same loop, CPU ms: min {runs[0]:.1f}, p10 {cuts[0]:.1f}, "
        f"median {statistics.median(runs):.1f}, p90 {cuts[-1]:.1f}, max {runs[-1]:.1f} "
        f"(max / min {runs[-1] / runs[0]:.2f})"
    )


if __name__ == "__main__":
    main()
