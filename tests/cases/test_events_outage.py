"""A hung channel layer neither stalls nor fails the decision that opens a case."""

import logging
import time
from collections.abc import Iterator

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

from cases import events
from cases.models import Case
from scoring.outage import Outage
from tests import factories
from tests.servers import PrivateRedis, private_redis

pytestmark = pytest.mark.django_db

PORT = 16413
PROBE_EVERY = 0.3


@pytest.fixture
def layer_redis(tmp_path, settings) -> Iterator[PrivateRedis]:
    """The channel layer on a Redis of the test's own, configured as in production."""
    with private_redis(PORT, tmp_path / "redis.log") as server:
        settings.CHANNEL_LAYERS = {
            "default": {
                "BACKEND": "channels_redis.core.RedisChannelLayer",
                "CONFIG": {
                    "hosts": [
                        {
                            "address": server.url,
                            "socket_connect_timeout": 0.25,
                            "socket_timeout": 10,
                        }
                    ],
                    "prefix": "fraudops:test-events",
                },
            }
        }
        settings.CHANNEL_SEND_TIMEOUT_SECONDS = 0.25
        yield server


@pytest.fixture
def channel_outage(monkeypatch) -> Outage:
    tracker = Outage("channel layer", consequence="case events not sent", probe_every=PROBE_EVERY)
    monkeypatch.setattr(events, "CHANNEL_OUTAGE", tracker)
    return tracker


def decide_reviewed(api, capture):
    """Post a reviewed transaction and run what its commit triggers (the case event)."""
    with capture(execute=True):
        return api.post("/api/v1/decisions", factories.payload(), format="json")


def outage_lines(caplog) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.getMessage().startswith("channel layer")]


def test_a_decision_that_opens_a_case_answers_quickly_while_the_channel_layer_is_hung(
    reviewing, layer_redis, channel_outage, django_capture_on_commit_callbacks, caplog
):
    with layer_redis.hung():
        timings, responses = [], []
        for _ in range(5):
            started = time.perf_counter()
            responses.append(decide_reviewed(reviewing, django_capture_on_commit_callbacks))
            timings.append(time.perf_counter() - started)

    assert [r.status_code for r in responses] == [201] * 5
    assert {r.json()["outcome"] for r in responses} == {"review"}
    assert Case.objects.count() == 5
    # The first send waits out its bound; the others skip the layer while it is down (counted,
    # not timed: a loaded machine makes any request slow). The wall-time bound is only sanity.
    # At most one send per probe period tries the hung layer; the first is the failure.
    assert channel_outage.skips >= 5 - 1 - 1 - int(sum(timings) / PROBE_EVERY)
    assert max(timings) < 0.25 + 2.0
    assert [r.levelname for r in outage_lines(caplog)] == ["ERROR"]
    assert all(r.exc_info is None for r in caplog.records)


def test_case_events_flow_again_when_the_channel_layer_is_back_and_the_outage_is_logged_as_over(
    reviewing, layer_redis, channel_outage, django_capture_on_commit_callbacks, caplog
):
    layer = get_channel_layer()
    assert layer is not None
    channel = async_to_sync(layer.new_channel)()
    with layer_redis.hung():
        for _ in range(3):
            decide_reviewed(reviewing, django_capture_on_commit_callbacks)
    time.sleep(PROBE_EVERY)
    case = factories.case_via_api(reviewing)
    async_to_sync(layer.group_add)(events.queue_group(case.queue_id), channel)

    decide_reviewed(reviewing, django_capture_on_commit_callbacks)

    message = async_to_sync(layer.receive)(channel)
    assert message["type"] == "case.changed"
    start, end = (r.getMessage() for r in outage_lines(caplog))
    assert "unavailable since" in start
    assert end.endswith(", 3 case events not sent")
