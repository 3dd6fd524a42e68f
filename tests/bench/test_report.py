"""What bench/decisions.py prints: ratios to the lean floor and issue 14's targets."""

from __future__ import annotations

import pytest

from bench.load import ENDPOINTS, PhaseResult
from bench.report import report


def _phase(name: str, mode: str, latency_ms: float, seconds: float) -> PhaseResult:
    result = PhaseResult(name, mode, latencies_ms=[latency_ms] * 100, statuses={201: 100})
    result.seconds = seconds
    result.cpu = {"server": 0.1, "services": 0.05, "client": 0.01, "other": 0.0, "machine": 0.2}
    if name in ("realistic", "stress"):
        result.outcomes = {"approve": 98, "review": 2} if name == "realistic" else {"approve": 60}
    return result


def test_it_compares_each_mix_with_the_lean_floor_of_the_same_mode(
    capsys: pytest.CaptureFixture[str],
) -> None:
    results = []
    for mode, slowdown in (("seq", 1.0), ("c8", 4.0)):
        for name in ENDPOINTS:
            latency = {"lean": 2.0, "realistic": 3.0, "stress": 10.0}.get(name, 2.5) * slowdown
            # At concurrency the realistic mix keeps 60% of the lean floor's rate, stress 20%.
            rate = {"lean": 1.0, "realistic": 0.6, "stress": 0.2}.get(name, 0.8)
            results.append(_phase(name, mode, latency, seconds=1.0 / rate))

    verdict = report(results, setup="test", concurrency=8)

    out = capsys.readouterr().out
    assert (
        "[PASS] realistic mix, sequential p50 <= 2x the lean floor's: 3.00 ms / 2.00 ms = 1.50x"
        in out
    )
    assert "[PASS] realistic mix, concurrency 8: >= 50% of the lean floor's rate" in out
    assert "[MISS] stress mix, concurrency 8: >= 35% of the lean floor's rate" in out
    assert "realistic seq: 2.0% challenged (98 approve, 2 review)" in out
    assert verdict.checks == {
        "realistic p50": True,
        "realistic rate": True,
        "realistic p99": True,
        "stress rate": False,
    }
