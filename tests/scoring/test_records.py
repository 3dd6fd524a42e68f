"""The named shapes of a decision's JSON fields have the keys of what they record."""

from dataclasses import fields
from typing import get_type_hints

from rules.policy import ListHit, Thresholds
from scoring.pipeline import Reason
from scoring.records import ListHitRecord, ReasonRecord, ThresholdsRecord


def test_each_record_has_the_fields_of_the_dataclass_it_is_written_from():
    for record, written_from in (
        (ReasonRecord, Reason),
        (ListHitRecord, ListHit),
        (ThresholdsRecord, Thresholds),
    ):
        assert set(get_type_hints(record)) == {f.name for f in fields(written_from)}
