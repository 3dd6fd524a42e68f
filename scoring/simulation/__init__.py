"""Simulated payments, fraud and labels: the demo's and the tests' data.

``population`` (who pays where), ``history`` (a past with late labels), ``traffic`` (live
payments from the same population) and ``load`` (a history decided and stored).
"""
