"""The rule editor lists the facts a rule may name, with the catalogue's labels and units."""

import pytest

from scoring.features.catalogue import CATALOGUE

pytestmark = pytest.mark.django_db


def test_the_rule_editor_lists_the_facts_by_group_with_labels(admin_client):
    response = admin_client.get("/admin/rules/rule/add/")

    assert response.status_code == 200
    html = response.text
    assert 'id="rule-facts"' in html
    assert "<li>device and network<ul>" in html
    assert f"<code>card_txn_count_1m</code> {CATALOGUE['card_txn_count_1m'].label} (count)" in html
    assert "<code>email_domain</code> E-mail domain (text)" in html
