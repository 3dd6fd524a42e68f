"""Which side of a canary a transaction falls on: a stable hash, no state, no Django.

The same transaction always lands on the same side (a retry, another worker, a replay), and a
share ``s`` sends about ``s`` of transactions to the challenger. Raising the share only adds
transactions to the challenger's side: one that it decided at 10% it still decides at 20%.

The one home of that hash: a rule's percentage rollout (``rules.engine.rollout_acts_on``)
draws from it too, with the rule's name as the ``salt``.
"""

from __future__ import annotations

import hashlib

# 53 bits: as many as a float holds exactly, so the result is always below 1.
_SPAN = float(1 << 53)


def canary_bucket(*, scope: str, transaction_id: str, salt: str = "") -> float:
    """The transaction's place in [0, 1): a BLAKE2b hash of its integrator and its id.

    The integrator is part of the key because transaction ids are only unique per
    integrator; the separator keeps ("1", "23") and ("12", "3") apart. A ``salt`` (a rule's
    name) makes an independent draw: two rules at 50% pick different halves. Without one the
    key is the model canary's, unchanged.
    """
    parts = (scope, transaction_id, salt) if salt else (scope, transaction_id)
    key = "\x1f".join(parts).encode()
    digest = hashlib.blake2b(key, digest_size=8, person=b"fraudops-canary").digest()
    return (int.from_bytes(digest, "big") >> 11) / _SPAN


def decided_by_challenger(*, scope: str, transaction_id: str, share: float) -> bool:
    """Whether the challenger decides this transaction at a canary ``share`` (0..1)."""
    return share > 0 and canary_bucket(scope=scope, transaction_id=transaction_id) < share
