"""What the decision benchmark prints: latency, throughput and CPU per phase, targets, and
where a sequential decision's time went."""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

import psycopg

from bench.load import ENDPOINTS, PhaseResult
from bench.measure import DISTURBED_SHARE

TARGET_RATIO = 3.0
TARGET_RPS = 300.0
TARGET_P99_MS = 25.0


def find(results: list[PhaseResult], endpoint: str, concurrent: bool) -> PhaseResult:
    return next(r for r in results if r.endpoint == endpoint and (r.mode != "seq") == concurrent)


@dataclass(frozen=True)
class Verdict:
    ratio_validate: float
    ratio_write: float
    ratio_ok: bool
    throughput_ok: bool
    errors: int
    decision_seq_p50: float
    decision_conc_rps: float
    decision_conc_p99: float

    @property
    def passed(self) -> bool:
        return self.ratio_ok and self.throughput_ok and self.errors == 0


def latency_table(results: list[PhaseResult]) -> None:
    header = f"{'endpoint':<24} {'mode':<5} {'n':>5} {'p50':>7} {'p95':>7} {'p99':>7}"
    print(f"{header} {'max':>7} {'req/s':>8} {'non-201':>8} {'conns':>6}   (latency in ms)")
    for r in results:
        print(
            f"{ENDPOINTS[r.endpoint]:<24} {r.mode:<5} {r.n:>5} {r.percentile(0.5):>7.2f} "
            f"{r.percentile(0.95):>7.2f} {r.percentile(0.99):>7.2f} "
            f"{max(r.latencies_ms, default=math.nan):>7.2f} {r.rps:>8.1f} {r.failures:>8} "
            f"{r.connects:>6}"
        )


def cpu_table(results: list[PhaseResult]) -> None:
    cpus = os.cpu_count() or 1
    print(
        f"{'CPU ms per request':<24} {'mode':<5} {'server':>7} {'pg+redis':>8} {'client':>7}"
        f" {'other':>7} {'machine':>8} {'busy%':>6} {'steal%':>6}"
    )
    for r in results:
        capacity = r.seconds * cpus / 100
        print(
            f"{ENDPOINTS[r.endpoint]:<24} {r.mode:<5} {r.cpu_ms('server'):>7.2f} "
            f"{r.cpu_ms('services'):>8.2f} {r.cpu_ms('client'):>7.2f} {r.cpu_ms('other'):>7.2f} "
            f"{r.cpu_ms('machine'):>8.2f} {r.cpu.get('machine', 0) / capacity:>6.0f} "
            f"{r.cpu.get('steal', 0) / capacity:>6.0f}{'  *disturbed' if r.disturbed else ''}"
        )
    disturbed = [r for r in results if r.disturbed]
    if disturbed:
        print(
            f"WARNING: other processes took over {DISTURBED_SHARE:.0%} of the machine's CPU in "
            f"{len(disturbed)} phase(s) (column 'other'): those figures are disturbed; rerun "
            f"on a quiet machine."
        )


def report(results: list[PhaseResult], *, setup: str, concurrency: int) -> Verdict:
    print()
    latency_table(results)
    print()
    cpu_table(results)
    seq_decision = find(results, "decision", concurrent=False)
    ratio_validate = seq_decision.percentile(0.5) / find(results, "validate", False).percentile(0.5)
    ratio_write = seq_decision.percentile(0.5) / find(results, "write", False).percentile(0.5)
    conc = find(results, "decision", concurrent=True)
    errors = sum(r.failures for r in results)
    verdict = Verdict(
        ratio_validate=ratio_validate,
        ratio_write=ratio_write,
        ratio_ok=ratio_write <= TARGET_RATIO,
        throughput_ok=conc.rps >= TARGET_RPS and conc.percentile(0.99) <= TARGET_P99_MS,
        errors=errors,
        decision_seq_p50=seq_decision.percentile(0.5),
        decision_conc_rps=conc.rps,
        decision_conc_p99=conc.percentile(0.99),
    )
    print()
    print(f"decision p50 / validate-floor p50 (sequential): {ratio_validate:.2f}x")
    print(f"decision p50 / two-row-floor p50 (sequential):  {ratio_write:.2f}x")
    print()
    mark = {True: "PASS", False: "MISS"}
    print(
        f"[{mark[verdict.ratio_ok]}] decision p50 <= {TARGET_RATIO:g}x the two-row floor's p50 "
        f"(sequential): {ratio_write:.2f}x"
    )
    print(
        f"[{mark[verdict.throughput_ok]}] >= {TARGET_RPS:g} decisions/s at concurrency "
        f"{concurrency} with p99 <= {TARGET_P99_MS:g} ms: {conc.rps:.1f}/s, "
        f"p99 {conc.percentile(0.99):.2f} ms"
    )
    print(
        f"       (with {concurrency} requests always in flight, mean latency = {concurrency} / "
        f"throughput: p99 <= {TARGET_P99_MS:g} ms needs more than "
        f"{concurrency / TARGET_P99_MS * 1000:.0f}/s)"
    )
    all_201 = "all responses 201" if errors == 0 else f"{errors} non-201 responses or errors"
    print(f"[{mark[errors == 0]}] {all_201}")
    for r in results:
        codes = {code: n for code, n in r.statuses.items() if code != 201}
        if codes or r.errors:
            print(f"  {ENDPOINTS[r.endpoint]} {r.mode}: statuses {codes}; {r.errors[:3]}")
            for sample in r.samples:
                print(f"    {sample}")
    print(f"server: {setup}")
    return verdict


def stage_report(database_url: str, run_tag: str, results: list[PhaseResult]) -> None:
    """Where a sequential decision's time goes, from what each decision recorded."""
    query = """
        SELECT count(*),
               percentile_cont(0.5) WITHIN GROUP (ORDER BY d.latency_ms),
               percentile_cont(0.5) WITHIN GROUP (ORDER BY (d.timings_ms->>'features')::float),
               percentile_cont(0.5) WITHIN GROUP (ORDER BY (d.timings_ms->>'rules')::float),
               percentile_cont(0.5) WITHIN GROUP (ORDER BY (d.timings_ms->>'model')::float),
               count(*) FILTER (WHERE d.outcome <> 'approve'),
               count(*) FILTER (WHERE jsonb_array_length(d.rule_errors) > 0)
        FROM scoring_decision d JOIN scoring_transaction t ON t.id = d.transaction_id
        WHERE t.transaction_id LIKE %s
    """
    url = urlunsplit(urlsplit(database_url)._replace(scheme="postgresql"))
    with psycopg.connect(url) as conn:
        row = conn.execute(query, (f"{run_tag}-decision-seq-0%",)).fetchone()
    if not row or not row[0]:
        return
    n, latency, features, rules, model, not_approved, with_errors = row
    seq = find(results, "decision", concurrent=False)

    def ms(value: float | None) -> str:
        return "-" if value is None else f"{value:.2f}"

    lua = None if seq.lua_usec is None else seq.lua_usec / 1000
    print(f"sequential decision, p50 of {n} (ms): client-measured {ms(seq.percentile(0.5))}")
    print(f"  server, authentication to just before the write: {ms(latency)}, of which")
    print(f"    features, feature store call: {ms(features)} (Redis runs the script {ms(lua)})")
    print(f"    lists + {_rule_count(url)} rules: {ms(rules)}; model: {ms(model)}")
    print(f"  the rest (write, response, HTTP): about {ms(seq.percentile(0.5) - latency)}")
    print(f"  outcomes: {n - not_approved} approved, {not_approved} review/decline, ", end="")
    print(f"{with_errors} with rule errors")


def _rule_count(url: str) -> int:
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT count(*) FROM rules_rule WHERE mode <> 'disabled'").fetchone()
    return int(row[0]) if row else 0
