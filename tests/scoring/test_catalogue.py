"""The feature catalogue: every feature and rule fact has a label, unit, group and
description; the docs list them all; values read in their unit (issue 15, Done-when 4)."""

import dataclasses

import pytest

from rules.admin import rule_facts_help
from scoring.features import catalogue
from scoring.features.catalogue import (
    CATALOGUE,
    CHANNEL_WORDS,
    FeatureInfo,
    Group,
    Unit,
    feature_label,
    missing_from_catalogue,
    value_text,
)
from scoring.features.definitions import FEATURE_NAMES
from scoring.management.commands.features_doc import DOCS_PATH, features_doc_text
from scoring.models import Channel
from scoring.transaction import RULE_FACTS


def test_every_feature_and_rule_fact_has_a_catalogue_entry():
    assert missing_from_catalogue(FEATURE_NAMES) == []
    assert missing_from_catalogue(RULE_FACTS) == []


def test_a_feature_without_an_entry_fails_the_check(monkeypatch):
    trimmed = {name: info for name, info in CATALOGUE.items() if name != "ip_customers_30d"}
    monkeypatch.setattr(catalogue, "CATALOGUE", trimmed)
    assert missing_from_catalogue(FEATURE_NAMES) == ["ip_customers_30d"]
    assert missing_from_catalogue([*FEATURE_NAMES, "card_txn_count_5m"]) == [
        "card_txn_count_5m",
        "ip_customers_30d",
    ]


def test_the_velocity_entries_are_not_made_from_the_definitions():
    # A new window in the definitions must need a new entry: the catalogue has no "5m".
    assert "card_txn_count_5m" not in CATALOGUE
    assert missing_from_catalogue(["customer_txn_count_2h"]) == ["customer_txn_count_2h"]


@pytest.mark.parametrize("name", sorted(set(FEATURE_NAMES) | set(RULE_FACTS)))
def test_each_entry_speaks_in_words(name):
    info = CATALOGUE[name]
    assert info.name == name
    assert info.label
    assert "_" not in info.label
    assert info.description.endswith(".")
    assert isinstance(info.unit, Unit)
    assert isinstance(info.group, Group)


def test_one_hot_channels_are_one_group_shown_as_channel_and_value():
    channels = [CATALOGUE[n] for n in FEATURE_NAMES if n.startswith("channel_")]
    assert {info.one_hot for info in channels} == {"Channel"}
    assert CATALOGUE["channel_wallet"].label == "Channel: mobile wallet"
    assert CATALOGUE["channel_wallet"].one_hot_value == "mobile wallet"


def test_every_channel_has_its_words_and_they_are_the_stored_choices_labels():
    assert set(CHANNEL_WORDS) == set(Channel.values)
    assert dict(Channel.choices) == CHANNEL_WORDS
    assert Channel.ECOM.label == "online"


def test_the_docs_list_every_feature_and_are_up_to_date():
    text = DOCS_PATH.read_text()
    for name in {*FEATURE_NAMES, *RULE_FACTS}:
        assert f"| `{name}` | {CATALOGUE[name].label} |" in text
    assert text == features_doc_text(), "run manage.py features_doc"


def test_the_rule_editor_lists_every_fact_with_its_label():
    help_text = str(rule_facts_help())
    for name in RULE_FACTS:
        assert f"<code>{name}</code> {CATALOGUE[name].label}" in help_text.replace("&#x27;", "'")


def test_an_uncatalogued_name_keeps_its_name_as_label():
    assert feature_label("novelty") == "novelty"
    assert feature_label("device_new_for_customer") == "New device for the customer"


@pytest.mark.parametrize(
    ("unit", "value", "text"),
    [
        (Unit.MONEY, 120.0, "120.00 EUR"),
        (Unit.COUNT, 3.0, "3"),
        (Unit.SECONDS, 180.0, "3 min"),
        (Unit.RATIO, 1.8, "1.80×"),
        (Unit.SHARE, 0.25, "25.0%"),
        (Unit.FLAG, 1.0, "yes"),
        (Unit.FLAG, 0.0, "no"),
        (Unit.HOUR, 23.999, "00:00"),
        (Unit.HOUR, 9.5, "09:30"),
        (Unit.COUNT, None, "–"),
    ],
)
def test_a_value_reads_in_its_unit(unit, value, text):
    info = dataclasses.replace(CATALOGUE["amount"], unit=unit)
    assert isinstance(info, FeatureInfo)
    assert value_text(info, value, "EUR") == text
