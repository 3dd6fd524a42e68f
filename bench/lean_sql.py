"""The lean floor's SQL (``bench/floor.py``): free of Django, as the bench creates the tables."""

from __future__ import annotations

# Created by the bench (bench/prepare.py) in its throwaway database; no model, no migration.
LEAN_TABLES = """
CREATE TABLE bench_lean_payment (
    id bigserial PRIMARY KEY,
    transaction_id varchar(64) NOT NULL UNIQUE,
    occurred_at timestamptz NOT NULL,
    amount numeric(18, 4) NOT NULL,
    currency char(3) NOT NULL,
    customer_id varchar(64) NOT NULL,
    merchant_id varchar(64) NOT NULL,
    channel varchar(16) NOT NULL,
    country char(2) NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE bench_lean_decision (
    id bigserial PRIMARY KEY,
    payment_id bigint NOT NULL REFERENCES bench_lean_payment (id),
    outcome varchar(16) NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
"""
LEAN_PAYMENT_INSERT = """
INSERT INTO bench_lean_payment
    (transaction_id, occurred_at, amount, currency, customer_id, merchant_id, channel, country)
VALUES (%s, %s, %s, %s, %s, %s, %s, %s) RETURNING id
"""
LEAN_DECISION_INSERT = (
    "INSERT INTO bench_lean_decision (payment_id, outcome) VALUES (%s, %s) RETURNING id"
)
LEAN_FIELDS = (
    "transaction_id", "occurred_at", "amount", "currency",
    "customer_id", "merchant_id", "channel", "country",
)  # fmt: skip
