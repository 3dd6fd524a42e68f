"""The feature store's script runner against the real Redis: it answers as EVALSHA does."""

import os
import threading
import uuid

import pytest
import redis

from scoring.features.lean_script import LeanScript
from scoring.features.store import RedisFeatureStore
from tests import factories

ECHO = "return ARGV[1] .. '|' .. ARGV[2]"


def script(client: redis.Redis, body: str = ECHO) -> LeanScript:
    # A text of its own: Redis has never loaded it, as after a restart or a SCRIPT FLUSH.
    return LeanScript(client, f"-- {uuid.uuid4().hex}\n{body}")


def test_it_loads_a_script_redis_does_not_know_and_runs_it(redis_client):
    echo = script(redis_client)
    assert redis_client.script_exists(echo.sha) == [False]

    assert echo(["a", "b"]) == b"a|b"
    assert redis_client.script_exists(echo.sha) == [True]
    assert echo(["c", "é"]) == "c|é".encode()


def test_it_sends_empty_and_binary_unsafe_looking_arguments_whole(redis_client):
    echo = script(redis_client)

    assert echo(["", "line\r\nbreak $3\r\n"]) == b"|line\r\nbreak $3\r\n"


def test_an_error_in_the_script_is_raised_and_the_next_call_still_answers(redis_client):
    failing = script(redis_client, "if ARGV[1] == 'x' then error('boom') end return ARGV[1]")

    with pytest.raises(redis.ResponseError, match="boom"):
        failing(["x"])
    assert failing(["ok"]) == b"ok"


def script_clients(client: redis.Redis) -> set[str]:
    """The connections of this test's database whose last command ran a script (others, such
    as a cache's from an earlier test's thread, may connect meanwhile)."""
    db = str(client.connection_pool.connection_kwargs.get("db", 0))
    entries = client.client_list()
    return {entry["id"] for entry in entries if entry["db"] == db and entry["cmd"] == "evalsha"}


def test_a_connection_the_server_closed_is_made_again_on_the_next_call(redis_client):
    echo = script(redis_client)
    before = script_clients(redis_client)
    echo(["a", "b"])
    (made,) = script_clients(redis_client) - before
    redis_client.client_kill_filter(_id=made)

    # Without retries (the store's client) the call that finds it closed fails, and the next
    # one has a new connection.
    with pytest.raises(redis.ConnectionError):
        echo(["a", "b"])
    assert echo(["c", "d"]) == b"c|d"
    assert made not in script_clients(redis_client)


def test_threads_calling_at_once_each_get_their_own_answer(redis_client):
    echo = script(redis_client)
    barrier = threading.Barrier(8)
    answers: dict[int, list[bytes]] = {}

    def call(i: int) -> None:
        barrier.wait()
        answers[i] = [echo([str(i), str(j)]) for j in range(50)]

    threads = [threading.Thread(target=call, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert answers == {i: [f"{i}|{j}".encode() for j in range(50)] for i in range(8)}


def test_a_forked_child_and_its_parent_each_read_their_own_answers(redis_client):
    echo = script(redis_client)
    echo(["warm", "up"])  # the parent holds a connection when it forks
    pid = os.fork()
    if pid == 0:
        ok = all(echo(["child", str(i)]) == f"child|{i}".encode() for i in range(300))
        os._exit(0 if ok else 1)
    answers = [echo(["parent", str(i)]) for i in range(300)]
    _, status = os.waitpid(pid, 0)

    assert answers == [f"parent|{i}".encode() for i in range(300)]
    assert os.waitstatus_to_exitcode(status) == 0


def test_a_store_observes_and_forgets_on_one_connection(
    redis_client: redis.Redis, redis_store: RedisFeatureStore
) -> None:
    store = redis_store  # new: it has not connected yet
    before = script_clients(redis_client)
    store.observe(factories.event("a", 1_800_000_000.0), scope="s")
    assert store.forget(factories.event("a", 1_800_000_000.0), scope="s")

    assert len(script_clients(redis_client) - before) == 1
