"""The case page's features in words: what stands out first, grouped; the rest apart; a
customer without history says so (pure)."""

from cases.feature_view import NO_HISTORY, feature_view
from scoring.features.definitions import FEATURE_NAMES

VALUES = {
    "amount": 480.0,
    "channel_pos": 0.0,
    "channel_ecom": 0.0,
    "channel_wallet": 1.0,
    "channel_transfer": 0.0,
    "channel_atm": 0.0,
    "device_new_for_customer": 1.0,
    "card_txn_count_1h": 1.0,
    "local_hour": 14.5,
}
EARLIER = [
    {"amount": 12.0, "channel_ecom": 1.0, "device_new_for_customer": 0.0, "card_txn_count_1h": 1.0,
     "local_hour": 14.0},
    {"amount": 14.0, "channel_ecom": 1.0, "device_new_for_customer": 0.0, "card_txn_count_1h": 1.0,
     "local_hour": 15.0},
]  # fmt: skip


def _lines(groups):
    return {line.label: (group.group, line) for group in groups for line in group.lines}


def test_features_far_from_the_usual_or_pushing_hard_stand_out_grouped():
    view = feature_view(
        names=FEATURE_NAMES, values=VALUES, earlier=EARLIER,
        contributions={"local_hour": -0.4, "card_txn_count_1h": 0.01}, currency="EUR",
    )  # fmt: skip

    standing = _lines(view.standing_out)
    assert standing["Amount"][0] == "transaction"
    assert standing["Amount"][1].value == "480.00 EUR"
    assert standing["Amount"][1].usual == "13.00 EUR"
    assert "far from this customer's usual" in standing["Amount"][1].why
    assert standing["New device for the customer"][0] == "device and network"
    assert standing["New device for the customer"][1].value == "yes"
    assert standing["Local time"][1].why == "pushes the score down"
    assert standing["Channel"][1].value == "mobile wallet"
    assert standing["Channel"][1].usual == "online"
    others = _lines(view.others)
    assert others["Payments on this card, last hour"][1].usual == "1"
    assert view.history == 2
    # groups in the catalogue's order
    order = [g.group for g in view.standing_out]
    assert order == sorted(order, key=["transaction", "velocity", "customer habits",
                                       "device and network", "merchant"].index)  # fmt: skip


def test_one_hot_features_are_one_line_never_five_zeros_and_ones():
    view = feature_view(names=FEATURE_NAMES, values=VALUES, earlier=EARLIER, contributions={})

    every = _lines((*view.standing_out, *view.others))
    assert not [label for label in every if label.startswith("Channel:")]
    assert sum(1 for label in every if label == "Channel") == 1


def test_a_customer_without_history_reads_no_history_yet():
    view = feature_view(names=FEATURE_NAMES, values=VALUES, earlier=[], contributions={})

    every = _lines((*view.standing_out, *view.others))
    assert every["Amount"][1].usual == NO_HISTORY
    assert every["Channel"][1].usual == NO_HISTORY
    assert view.history == 0


def test_a_reason_cites_a_feature_and_makes_it_stand_out():
    view = feature_view(
        names=FEATURE_NAMES, values=VALUES, earlier=EARLIER, contributions={},
        cited=["card_txn_count_1h"],
    )  # fmt: skip

    assert _lines(view.standing_out)["Payments on this card, last hour"][1].why == (
        "a reason for the score"
    )
