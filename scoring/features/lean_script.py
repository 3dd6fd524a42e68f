"""One Lua script, run by EVALSHA on connections of its own: the feature store's hot path.

redis-py's command layer costs more client CPU than the round trip itself: ``Script.__call__``
goes through ``execute_command`` (the pool's checkout and release with their observability
hooks, argument encoding one by one, response callbacks). On the bench machine, a script
with 15 arguments cost ~170 us of client CPU per call that way, ~100 us with the pool's
checkout and our own packing, ~55 us on a connection held (``time.process_time``, 4000 calls).
:class:`LeanScript` keeps what a call needs and nothing else:

- the connections are redis-py's own :class:`redis.Connection` (the client pool's class and
  settings: host, db, timeouts, protocol, retry policy), kept in a list of idle ones that the
  scripts of one store share (:class:`Connections`): a call takes one (or makes one) and puts
  it back; ``list.pop`` and ``append`` are atomic, so threads share the list without a lock,
  and no two threads hold the same connection;
- the command is packed in one ``bytes.join`` from ``str`` arguments, and sent as redis-py
  sends a packed command (its health check included, when the client has one);
- errors behave as through the client: the connection's retry policy retries connection
  errors and timeouts, disconnecting first (the script is idempotent by ref: a retry after a
  lost reply gets the first answer back); a ``NOSCRIPT`` (a restarted or flushed Redis) loads
  the script and runs it again, as ``Script.__call__`` does; any other error disconnects the
  connection, so a half-read reply never reaches the next call, and is raised.
- after a fork the parent's connections are dropped, never used (as redis-py's pool does).
"""

from __future__ import annotations

import hashlib
import os
from typing import Any

import redis
from redis.exceptions import NoScriptError

# A redis.Connection: its methods are untyped, so mypy --strict would refuse the calls.
Connection = Any


class Connections:
    """Idle connections of a client's settings, shared by the scripts of one store: a thread
    holds one connection at a time, whichever script it runs."""

    def __init__(self, client: redis.Redis) -> None:
        pool = client.connection_pool
        self._connection_class = pool.connection_class
        self._connection_kwargs = dict(pool.connection_kwargs)
        self._idle: list[Connection] = []
        self._pid = os.getpid()

    def take(self) -> Connection:
        if self._pid != os.getpid():
            self._idle = []
            self._pid = os.getpid()
        try:
            return self._idle.pop()
        except IndexError:
            return self._connection_class(**self._connection_kwargs)

    def give_back(self, connection: Connection) -> None:
        self._idle.append(connection)


class LeanScript:
    """``script(args)``: the script's reply to EVALSHA with no keys and ``args``."""

    def __init__(
        self, client: redis.Redis, text: str, connections: Connections | None = None
    ) -> None:
        self._client = client
        self._text = text
        # The name Redis gives a script (not a security use).
        self._sha = hashlib.sha1(text.encode(), usedforsecurity=False).hexdigest()
        self._connections = connections or Connections(client)
        # EVALSHA <sha> 0: the head every call starts with.
        self._head = _bulk(b"EVALSHA") + _bulk(self._sha.encode()) + _bulk(b"0")

    @property
    def sha(self) -> str:
        return self._sha

    def __call__(self, args: list[str]) -> Any:
        packed = self._packed(args)
        connection = self._connections.take()
        try:
            try:
                return self._run(connection, packed)
            except NoScriptError:
                self._client.script_load(self._text)
                return self._run(connection, packed)
        except BaseException:
            connection.disconnect()
            raise
        finally:
            self._connections.give_back(connection)

    def _packed(self, args: list[str]) -> bytes:
        encoded = [arg.encode() for arg in args]
        parts = [b"*%d\r\n" % (len(encoded) + 3), self._head]
        parts += [b"$%d\r\n%b\r\n" % (len(arg), arg) for arg in encoded]
        return b"".join(parts)

    @staticmethod
    def _run(connection: Connection, packed: bytes) -> Any:
        def call() -> Any:
            connection.send_packed_command([packed])
            return connection.read_response()

        return connection.retry.call_with_retry(call, lambda _error: connection.disconnect())


def _bulk(value: bytes) -> bytes:
    return b"$%d\r\n%b\r\n" % (len(value), value)
