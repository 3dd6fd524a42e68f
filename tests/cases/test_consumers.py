"""The queue WebSocket: only people with a role connect; they hear which case changed."""

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from channels.testing import WebsocketCommunicator

from cases import services
from cases.consumers import FORBIDDEN, CasePresenceConsumer, QueueConsumer
from tests import factories

pytestmark = pytest.mark.django_db(transaction=True)


def communicator(user) -> WebsocketCommunicator:
    socket = WebsocketCommunicator(QueueConsumer.as_asgi(), "/ws/queues/")
    socket.scope["user"] = user
    return socket


def test_the_websocket_refuses_a_user_without_a_role(outsider):
    async def attempt():
        socket = communicator(outsider)
        connected, code = await socket.connect()
        await socket.disconnect()
        return connected, code

    assert async_to_sync(attempt)() == (False, FORBIDDEN)


def test_the_websocket_refuses_an_anonymous_visitor():
    from django.contrib.auth.models import AnonymousUser

    async def attempt():
        socket = communicator(AnonymousUser())
        connected, code = await socket.connect()
        return connected, code

    connected, code = async_to_sync(attempt)()
    assert connected is False
    assert code == FORBIDDEN


def test_an_analyst_hears_that_a_case_was_opened_and_claimed(reviewing, analyst, other_analyst):
    async def listen():
        socket = communicator(other_analyst)
        connected, _ = await socket.connect()
        assert connected
        case = await sync_to_async(factories.case_via_api)(reviewing)
        opened = await socket.receive_json_from(timeout=2)
        await sync_to_async(services.case_claim)(case=case, user=analyst)
        claimed = await socket.receive_json_from(timeout=2)
        await socket.disconnect()
        return case, opened, claimed

    case, opened, claimed = async_to_sync(listen)()

    assert opened == {"case_id": case.pk, "status": "open", "assignee": ""}
    assert claimed == {"case_id": case.pk, "status": "claimed", "assignee": "alice"}


def presence(user, case_id: int) -> WebsocketCommunicator:
    socket = WebsocketCommunicator(CasePresenceConsumer.as_asgi(), f"/ws/cases/{case_id}/")
    socket.scope["user"] = user
    socket.scope["url_route"] = {"kwargs": {"case_id": case_id}}
    return socket


def test_a_case_page_shows_who_else_is_viewing_it(reviewing, analyst, other_analyst, outsider):
    case = factories.case_via_api(reviewing)

    async def look():
        first = presence(analyst, case.pk)
        assert (await first.connect())[0]
        alone = await first.receive_json_from(timeout=2)
        second = presence(other_analyst, case.pk)
        assert (await second.connect())[0]
        together = await first.receive_json_from(timeout=2)
        refused = await presence(outsider, case.pk).connect()
        await second.disconnect()
        after = await first.receive_json_from(timeout=2)
        await first.disconnect()
        return alone, together, refused, after

    alone, together, refused, after = async_to_sync(look)()

    assert alone == {"viewers": ["alice"]}
    assert together == {"viewers": ["alice", "bob"]}
    assert refused == (False, FORBIDDEN)
    assert after == {"viewers": ["alice"]}
