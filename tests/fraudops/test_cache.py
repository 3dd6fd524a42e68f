"""The Redis cache builds one redis-py client per connection pool and keeps using it."""

import threading
import uuid

import pytest

from fraudops.cache import RedisCache
from tests.conftest import REDIS_URL


@pytest.fixture
def cache(redis_client) -> RedisCache:
    return RedisCache(REDIS_URL, {"KEY_PREFIX": f"fo:test:{uuid.uuid4().hex[:12]}"})


def test_every_call_uses_the_same_client(cache):
    first = cache._cache.get_client(write=True)

    assert cache._cache.get_client(write=True) is first
    assert cache._cache.get_client(write=False) is first  # one server: one pool


def test_it_reads_what_it_wrote(cache):
    cache.set("a", {"n": 1}, 30)
    cache.set_many({"b": 2, "c": 3}, 30)

    assert cache.get("a") == {"n": 1}
    assert cache.get_many(["a", "b", "c", "missing"]) == {"a": {"n": 1}, "b": 2, "c": 3}
    cache.delete_many(["a", "b", "c"])
    assert cache.get_many(["a", "b", "c"]) == {}


def test_threads_share_the_client_and_its_pool(cache):
    errors: list[BaseException] = []

    def work(n: int) -> None:
        try:
            for i in range(50):
                cache.set(f"k{n}-{i}", i, 30)
                assert cache.get(f"k{n}-{i}") == i
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert errors == []
    assert len(cache._cache._clients) == 1
    cache.delete_many([f"k{n}-{i}" for n in range(8) for i in range(50)])
