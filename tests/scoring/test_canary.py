"""Which side of a canary a transaction falls on: stable, and about the share asked for."""

from scoring.canary import canary_bucket, decided_by_challenger

KEYS = [("7", f"t-{n:05d}") for n in range(1000)]


def test_a_half_canary_decides_about_half_of_a_thousand_transactions():
    decided = sum(
        decided_by_challenger(scope=scope, transaction_id=txn, share=0.5) for scope, txn in KEYS
    )

    # Binomial(1000, 0.5): 4.4 standard deviations either side.
    assert 430 <= decided <= 570


def test_the_same_transaction_always_lands_on_the_same_side():
    first = [decided_by_challenger(scope=s, transaction_id=t, share=0.5) for s, t in KEYS]
    again = [decided_by_challenger(scope=s, transaction_id=t, share=0.5) for s, t in KEYS]

    assert first == again
    assert canary_bucket(scope="7", transaction_id="t-00042") == canary_bucket(
        scope="7", transaction_id="t-00042"
    )


def test_the_integrator_is_part_of_the_key():
    mine = [canary_bucket(scope="7", transaction_id=t) for _, t in KEYS]
    theirs = [canary_bucket(scope="8", transaction_id=t) for _, t in KEYS]

    assert mine != theirs
    assert canary_bucket(scope="1", transaction_id="23") != canary_bucket(
        scope="12", transaction_id="3"
    )


def test_no_share_decides_nothing_and_a_full_share_decides_everything():
    buckets = [canary_bucket(scope=s, transaction_id=t) for s, t in KEYS]

    assert all(0.0 <= b < 1.0 for b in buckets)
    assert not any(decided_by_challenger(scope=s, transaction_id=t, share=0.0) for s, t in KEYS)
    assert all(decided_by_challenger(scope=s, transaction_id=t, share=1.0) for s, t in KEYS)


def test_raising_the_share_only_adds_transactions_to_the_challengers_side():
    at_10 = {t for s, t in KEYS if decided_by_challenger(scope=s, transaction_id=t, share=0.1)}
    at_20 = {t for s, t in KEYS if decided_by_challenger(scope=s, transaction_id=t, share=0.2)}

    assert at_10 < at_20
