"""Presence on a case page: who is viewing it now, kept in the cache with a time to live."""

import pytest
from django.core.cache import cache

from cases.presence import PRESENCE_TTL, case_group, viewer_here, viewer_left


@pytest.fixture(autouse=True)
def empty_cache():
    cache.clear()
    yield
    cache.clear()


def test_viewers_are_listed_sorted_as_they_arrive():
    assert viewer_here(case_id=1, username="bob", now=100.0) == ["bob"]
    assert viewer_here(case_id=1, username="alice", now=101.0) == ["alice", "bob"]


def test_a_viewer_who_leaves_is_no_longer_listed():
    viewer_here(case_id=1, username="alice", now=100.0)
    viewer_here(case_id=1, username="bob", now=100.0)

    assert viewer_left(case_id=1, username="bob", now=101.0) == ["alice"]
    assert viewer_left(case_id=1, username="nobody", now=101.0) == ["alice"]


def test_a_viewer_without_a_heartbeat_for_the_ttl_drops_out_and_a_heartbeat_keeps_one():
    viewer_here(case_id=1, username="alice", now=100.0)
    viewer_here(case_id=1, username="bob", now=100.0)
    viewer_here(case_id=1, username="alice", now=100.0 + PRESENCE_TTL - 1)  # a heartbeat

    assert viewer_here(case_id=1, username="carol", now=100.0 + PRESENCE_TTL) == [
        "alice",
        "carol",
    ]


def test_each_case_has_its_own_viewers_and_group():
    viewer_here(case_id=1, username="alice", now=100.0)

    assert viewer_here(case_id=2, username="bob", now=100.0) == ["bob"]
    assert case_group(1) != case_group(2)
