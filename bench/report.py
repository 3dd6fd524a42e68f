"""What the decision benchmark prints: latency, throughput and CPU per phase, each figure as a
ratio to the lean floor's of the same run and mode, issue 14's targets, worker memory, and where
a sequential decision's time went."""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from urllib.parse import urlsplit, urlunsplit

import psycopg

from bench.load import ENDPOINTS, MIXES, PhaseResult
from bench.measure import DISTURBED_SHARE
from bench.servers import WorkerMemory

# Issue 14, done when 2 and 3: against the lean floor measured in the same run.
REALISTIC_P50_RATIO = 2.0  # sequential p50, at most this many times the lean floor's
REALISTIC_RPS_SHARE = 0.50  # at concurrency, at least this share of the lean floor's rate
REALISTIC_P99_MS = 30.0  # at concurrency
STRESS_RPS_SHARE = 0.35  # at concurrency
WORKER_RSS_MB = 250.0
# The challenged share each mix is built for (bench/mixes.py): shown, not a target.
EXPECTED_CHALLENGED = {"realistic": (0.01, 0.03), "stress": (0.30, 0.50)}
MARK = {True: "PASS", False: "MISS"}


def find(results: list[PhaseResult], endpoint: str, concurrent: bool) -> PhaseResult:
    return next(r for r in results if r.endpoint == endpoint and (r.mode != "seq") == concurrent)


@dataclass(frozen=True)
class Verdict:
    checks: dict[str, bool]  # target -> met
    errors: int
    summary: str  # one line for ``--server all``'s comparison
    notes: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return all(self.checks.values()) and self.errors == 0


def _ratio(value: float, floor: float) -> str:
    return f"{value / floor:.2f}x" if floor and not math.isnan(floor) else "-"


def latency_table(results: list[PhaseResult]) -> None:
    """Each phase's figures, and (``xlean``) its p50, p99 and rate over the lean floor's of the
    same mode."""
    print(
        f"{'phase':<10} {'path':<22} {'mode':<5} {'n':>5} {'p50':>7} {'p95':>7} {'p99':>7} "
        f"{'max':>7} {'req/s':>7} {'p50xlean':>8} {'p99xlean':>8} {'/sxlean':>7} "
        f"{'chall.':>6} {'non-201':>7} {'conns':>5}   (latency in ms)"
    )
    for r in results:
        lean = find(results, "lean", concurrent=r.mode != "seq")
        share = r.challenged_share
        print(
            f"{r.endpoint:<10} {ENDPOINTS[r.endpoint]:<22} {r.mode:<5} {r.n:>5} "
            f"{r.percentile(0.5):>7.2f} {r.percentile(0.95):>7.2f} {r.percentile(0.99):>7.2f} "
            f"{max(r.latencies_ms, default=math.nan):>7.2f} {r.rps:>7.1f} "
            f"{_ratio(r.percentile(0.5), lean.percentile(0.5)):>8} "
            f"{_ratio(r.percentile(0.99), lean.percentile(0.99)):>8} "
            f"{_ratio(r.rps, lean.rps):>7} "
            f"{'-' if math.isnan(share) else f'{share:.1%}':>6} {r.failures:>7} {r.connects:>5}"
        )


def cpu_table(results: list[PhaseResult]) -> None:
    cpus = os.cpu_count() or 1
    print(
        f"{'CPU ms per request':<33} {'mode':<5} {'server':>7} {'pg+redis':>8} {'worker':>7}"
        f" {'client':>7} {'other':>7} {'machine':>8} {'busy%':>6} {'steal%':>6} {'srv xlean':>9}"
    )
    for r in results:
        capacity = r.seconds * cpus / 100
        lean = find(results, "lean", concurrent=r.mode != "seq")
        print(
            f"{r.endpoint:<10} {ENDPOINTS[r.endpoint]:<22} {r.mode:<5} {r.cpu_ms('server'):>7.2f} "
            f"{r.cpu_ms('services'):>8.2f} {r.cpu_ms('worker'):>7.2f} {r.cpu_ms('client'):>7.2f} "
            f"{r.cpu_ms('other'):>7.2f} "
            f"{r.cpu_ms('machine'):>8.2f} {r.cpu.get('machine', 0) / capacity:>6.0f} "
            f"{r.cpu.get('steal', 0) / capacity:>6.0f} "
            f"{_ratio(r.cpu_ms('server'), lean.cpu_ms('server')):>9}"
            f"{'  *disturbed' if r.disturbed else ''}"
        )
    disturbed = [r for r in results if r.disturbed]
    if disturbed:
        print(
            f"WARNING: other processes took over {DISTURBED_SHARE:.0%} of the machine's CPU in "
            f"{len(disturbed)} phase(s) (column 'other'): those figures are disturbed; rerun "
            f"on a quiet machine."
        )


def report(results: list[PhaseResult], *, setup: str, concurrency: int) -> Verdict:
    """Print the tables and the targets of issue 14's done-when 2; the verdict on them."""
    print()
    latency_table(results)
    print()
    cpu_table(results)
    print()
    _challenged_lines(results)
    checks, summary = _targets(results, concurrency)
    errors = sum(r.failures for r in results)
    all_201 = "all responses 201" if errors == 0 else f"{errors} non-201 responses or errors"
    print(f"[{MARK[errors == 0]}] {all_201}")
    for r in results:
        codes = {code: n for code, n in r.statuses.items() if code != 201}
        if codes or r.errors:
            print(f"  {r.endpoint} {r.mode}: statuses {codes}; {r.errors[:3]}")
            for sample in r.samples:
                print(f"    {sample}")
    print(f"server: {setup}")
    return Verdict(checks, errors, summary)


def _challenged_lines(results: list[PhaseResult]) -> None:
    for mix in MIXES:
        low, high = EXPECTED_CHALLENGED[mix]
        for r in (find(results, mix, False), find(results, mix, True)):
            share = r.challenged_share
            seen = ", ".join(f"{n} {outcome}" for outcome, n in sorted(r.outcomes.items()))
            fits = "as built" if low <= share <= high else "OUTSIDE the mix's design"
            print(
                f"{mix} {r.mode}: {share:.1%} challenged ({seen}); built for "
                f"{low:.0%}-{high:.0%}: {fits}"
            )
    print()


def _targets(results: list[PhaseResult], concurrency: int) -> tuple[dict[str, bool], str]:
    """Print a PASS/MISS line per target of issue 14's done-when 2; the checks and a summary."""
    lean_seq, lean_conc = find(results, "lean", False), find(results, "lean", True)
    seq, conc = find(results, "realistic", False), find(results, "realistic", True)
    stress = find(results, "stress", True)
    p50, lean_p50, p99 = seq.percentile(0.5), lean_seq.percentile(0.5), conc.percentile(0.99)
    share, stress_share = conc.rps / lean_conc.rps, stress.rps / lean_conc.rps
    c, lean = f"concurrency {concurrency}", f"{lean_conc.rps:.1f}/s"
    targets = {
        "realistic p50": (
            p50 / lean_p50 <= REALISTIC_P50_RATIO,
            f"realistic mix, sequential p50 <= {REALISTIC_P50_RATIO:g}x the lean floor's: "
            f"{p50:.2f} ms / {lean_p50:.2f} ms = {p50 / lean_p50:.2f}x",
        ),
        "realistic rate": (
            share >= REALISTIC_RPS_SHARE,
            f"realistic mix, {c}: >= {REALISTIC_RPS_SHARE:.0%} of the lean floor's rate: "
            f"{conc.rps:.1f}/s / {lean} = {share:.0%}",
        ),
        "realistic p99": (
            p99 <= REALISTIC_P99_MS,
            f"realistic mix, {c}: p99 <= {REALISTIC_P99_MS:g} ms: {p99:.2f} ms",
        ),
        "stress rate": (
            stress_share >= STRESS_RPS_SHARE,
            f"stress mix, {c}: >= {STRESS_RPS_SHARE:.0%} of the lean floor's rate: "
            f"{stress.rps:.1f}/s / {lean} = {stress_share:.0%}",
        ),
    }
    for ok, text in targets.values():
        print(f"[{MARK[ok]}] {text}")
    two_row = p50 / find(results, "write", False).percentile(0.5)
    print(f"       (realistic sequential p50 / the two-row floor's: {two_row:.2f}x)")
    summary = (
        f"realistic: seq p50 {p50:6.2f} ms ({p50 / lean_p50:.2f}x lean), c{concurrency} "
        f"{conc.rps:6.1f}/s ({share:.0%} of lean), p99 {p99:6.2f} ms; "
        f"stress c{concurrency} {stress.rps:6.1f}/s ({stress_share:.0%} of lean)"
    )
    return {key: ok for key, (ok, _) in targets.items()}, summary


def memory_report(workers: list[WorkerMemory], mixed: PhaseResult, before: int) -> bool:
    """Each worker's memory after the mixed decisions (and the ``before`` decisions of the
    measured phases); whether every worker's RSS is within issue 14's done-when 3."""
    n = mixed.n
    print(
        f"worker memory after {n} more decisions (the two mixes alternating, c{mixed.mode[1:]}, "
        f"{mixed.rps:.1f}/s, non-201/errors={mixed.failures}) on top of {before} decisions "
        f"of the measured phases:"
    )
    for w in workers:
        print(f"  worker pid {w.pid}: RSS {w.rss_mb:6.1f} MB  (PSS {w.pss_mb:6.1f} MB)")
    worst = max((w.rss_mb for w in workers), default=math.nan)
    ok = bool(workers) and worst <= WORKER_RSS_MB and mixed.failures == 0
    print(
        f"[{MARK[ok]}] worker RSS <= {WORKER_RSS_MB:g} MB after {n + before} decisions: "
        f"largest {worst:.1f} MB over {len(workers)} workers"
    )
    return ok


def stage_report(database_url: str, run_tag: str, results: list[PhaseResult], mix: str) -> None:
    """Where a sequential decision of ``mix`` spent its time, from what each decision recorded."""
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
        row = conn.execute(query, (f"{run_tag}-{mix}-seq-0%",)).fetchone()
    if not row or not row[0]:
        return
    n, latency, features, rules, model, not_approved, with_errors = row
    seq = find(results, mix, concurrent=False)

    def ms(value: float | None) -> str:
        return "-" if value is None else f"{value:.2f}"

    lua = None if seq.lua_usec is None else seq.lua_usec / 1000
    client = ms(seq.percentile(0.5))
    print(f"sequential decision, {mix} mix, p50 of {n} (ms): client-measured {client}")
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
