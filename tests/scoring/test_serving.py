"""The serving singletons: building them has no side effect, warm-up is one explicit call, and
``serving.override`` swaps the store and the scorer for a block and puts them back.

The warm-up tests run a fresh Python (as tests/fraudops/test_settings.py does): what a process
does when it starts serving can only be seen in a process that has not served yet.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading

import pytest

from scoring import serving
from scoring.features.memory_store import MemoryFeatureStore
from scoring.scorer import ConstantScorer
from tests import factories
from tests.servers import ROOT

# Stores one decision (through a store of its own, so the process's store never saw it), then
# reads the process's store before and after the ASGI lifespan start-up, and warms up again.
WARM_UP_PROBE = """
import asyncio, json, threading
import django
django.setup()
from django.core.management import call_command
call_command("migrate", verbosity=0)
from rest_framework.test import APIClient
from fraudops.asgi import application
from scoring import serving
from scoring.features.memory_store import MemoryFeatureStore
from scoring.models import Decision
from tests import factories

def threads():
    return sorted(t.name for t in threading.enumerate() if t.name == "cold-refresher")

client = APIClient(SERVER_NAME="localhost")
client.credentials(HTTP_AUTHORIZATION="Token " + factories.integrator("acme").key)
def post():
    return client.post("/api/v1/decisions", factories.payload(card_id="c-w"), format="json")

with serving.override(store=MemoryFeatureStore()):
    assert post().status_code == 201
store = serving.feature_store()
built = {"cold_as_of": store.cold_as_of(), "threads": threads()}

async def lifespan():
    sent = []
    inbox = [{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}]
    async def receive():
        return inbox.pop(0)
    async def send(message):
        sent.append(message["type"])
    await application({"type": "lifespan", "asgi": {"version": "3.0"}}, receive, send)
    return sent

sent = asyncio.run(lifespan())
serving.warm_up()  # again: the history must not be counted twice
later = post()
features = Decision.objects.get(pk=later.json()["decision_id"]).features
print(json.dumps({
    "built": built,
    "lifespan": sent,
    "warmed": {"cold_published": store.cold_as_of() is not None, "threads": threads()},
    "same_store": serving.feature_store() is store,
    "shadow_scorer": [t.name for t in threading.enumerate() if t.name == "shadow-scorer"],
    "card_txn_count_1m": features["card_txn_count_1m"],
}))
"""


# A server that never calls warm_up() (runserver, a WSGI server without gunicorn.conf.py).
UNWARMED_PROBE = """
import json, logging
import django
django.setup()
from django.core.management import call_command
call_command("migrate", verbosity=0)
from rest_framework.test import APIClient
from scoring import serving
from scoring.features.memory_store import MemoryFeatureStore
from scoring.models import Decision
from tests import factories

warnings = []
handler = logging.Handler()
handler.emit = lambda record: warnings.append(record.getMessage())
logging.getLogger("scoring.serving").addHandler(handler)
client = APIClient(SERVER_NAME="localhost")
client.credentials(HTTP_AUTHORIZATION="Token " + factories.integrator("acme").key)
def post():
    return client.post("/api/v1/decisions", factories.payload(card_id="c-w"), format="json")

with serving.override(store=MemoryFeatureStore()):
    assert post().status_code == 201
later = post()
features = Decision.objects.get(pk=later.json()["decision_id"]).features
print(json.dumps({
    "card_txn_count_1m": features["card_txn_count_1m"],
    "told": any("warm_up() was not called" in w for w in warnings),
}))
"""


def probe(tmp_path, script: str = WARM_UP_PROBE, **env: str) -> dict[str, object]:
    base = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
    base.update(
        SQLITE_PATH=str(tmp_path / "serving.sqlite3"),
        MODEL_DIR=str(tmp_path / "models"),
        DJANGO_SETTINGS_MODULE="fraudops.settings",
        **env,
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env=base,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    seen: dict[str, object] = json.loads(result.stdout.strip().splitlines()[-1])
    return seen


def test_building_the_store_starts_nothing_and_the_asgi_start_up_warms_it_once(tmp_path):
    seen = probe(tmp_path)

    assert seen["built"] == {"cold_as_of": None, "threads": []}
    assert seen["lifespan"] == ["lifespan.startup.complete", "lifespan.shutdown.complete"]
    assert seen["warmed"] == {"cold_published": True, "threads": ["cold-refresher"]}
    assert seen["same_store"] is True
    assert seen["card_txn_count_1m"] == 1.0  # the stored decision, once
    # No broker, so no beat: the server fills shadow scores itself, on one thread.
    assert seen["shadow_scorer"] == ["shadow-scorer"]


def test_without_the_in_process_refresher_the_warm_up_loads_the_history_only(tmp_path):
    seen = probe(tmp_path, COLD_FEATURES_REFRESH_IN_PROCESS="0")

    assert seen["warmed"] == {"cold_published": False, "threads": []}
    assert seen["card_txn_count_1m"] == 1.0


def test_a_server_that_never_warmed_up_is_warmed_before_its_first_decision_and_says_so(tmp_path):
    seen = probe(tmp_path, UNWARMED_PROBE)

    assert seen == {"card_txn_count_1m": 1.0, "told": True}


@pytest.mark.django_db
def test_an_override_serves_the_given_store_and_scorer_and_puts_back_what_was_there():
    before_store, before_scorer = serving.feature_store(), serving.scorer()
    store, scorer = MemoryFeatureStore(), ConstantScorer(0.3, version="m-o")

    with serving.override(store=store, scorer=scorer):
        inside = (serving.feature_store(), serving.scorer(), serving.scorer_for("m-o"))
        with serving.override(scorer=ConstantScorer(0.9)):
            nested_store = serving.feature_store()

    assert inside == (store, scorer, scorer)
    assert nested_store is store  # a part not given stays as it was
    assert (serving.feature_store(), serving.scorer()) == (before_store, before_scorer)


def test_an_override_is_undone_when_its_block_raises():
    before = serving.feature_store()

    with pytest.raises(RuntimeError), serving.override(store=MemoryFeatureStore()):
        raise RuntimeError("the test failed")

    assert serving.feature_store() is before


def refreshers() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "cold-refresher"]


@pytest.mark.django_db
def test_a_warm_up_while_an_override_gives_the_store_leaves_the_process_as_it_was(api, settings):
    settings.COLD_FEATURES_REFRESH_IN_PROCESS = True
    assert api.post("/api/v1/decisions", factories.payload(), format="json").status_code == 201
    given, running = MemoryFeatureStore(), refreshers()

    with serving.override(store=given):
        serving.warm_up()

    assert given.cold_as_of() is None
    assert refreshers() == running
    assert serving.feature_store().cold_as_of() is None
