import pytest

from tests import factories


@pytest.fixture
def analyst(db):
    return factories.user("alice", "analyst")


@pytest.fixture
def other_analyst(db):
    return factories.user("bob", "analyst")


@pytest.fixture
def lead(db):
    return factories.user("lena", "lead")


@pytest.fixture
def outsider(db):
    """Logged in, but with no role."""
    return factories.user("oscar")


@pytest.fixture
def reviewing(api):
    """The integrator's API client, with a rule that sends every transaction to review."""
    factories.review_everything()
    return api
