"""The network of a case (Sift's "users who share attributes"): the customers linked to the
case's customer through shared devices, IP addresses, cards or e-mails, at most two hops away
(customer → shared value → customer → shared value → customer), within the case's integrator.

The graph holds customer nodes and the shared values between them; a value seen with one
customer only is left out (it links nobody). Both hops and the final tally are capped, so a
busy shared value (a mobile carrier's IP) cannot make the read unbounded: ``capped`` says so.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import TypedDict

from django.db.models import Count, Q
from django.urls import reverse

from cases.entities import entity_display
from cases.models import Case
from scoring.label_reads import labels_as_of
from scoring.models import Label, Transaction

# The shared values followed, kind → the transaction's column.
SHARED_COLUMNS: dict[str, str] = {
    "device": "device_id",
    "ip": "ip",
    "card": "card_id",
    "email": "email_hash",
}
MAX_HOPS = 2
MAX_CUSTOMERS = 40
# Rows of (customer, device, ip, card, e-mail) read per hop.
MAX_ROWS = 2000


class NodeJson(TypedDict):
    id: str  # "<kind>:<value>"
    kind: str  # customer, device, ip, card, email
    value: str
    label: str
    hop: int  # customers: hops from the case's customer (0: the customer itself); values: -1
    transactions: int  # customers: their transactions; values: 0
    fraud_labelled: int
    outcomes: dict[str, int]
    group: str  # customers: fraud, decline, review, approve; values: their kind
    url: str


class EdgeJson(TypedDict):
    source: str  # a customer node
    target: str  # a shared value node


class NetworkJson(TypedDict):
    center: str
    nodes: list[NodeJson]
    edges: list[EdgeJson]
    capped: bool


Pair = tuple[str, str]  # (kind, value)


def _rows(txns: Q | None, integrator_id: int) -> list[tuple[str, ...]]:
    columns = ("customer_id", *SHARED_COLUMNS.values())
    query = Transaction.objects.filter(integrator_id=integrator_id)
    if txns is not None:
        query = query.filter(txns)
    found = query.values_list(*columns).distinct().order_by(*columns)[: MAX_ROWS + 1]
    return [tuple("" if v is None else str(v) for v in row) for row in found]


def _pairs(row: tuple[str, ...]) -> list[Pair]:
    return [(kind, value) for kind, value in zip(SHARED_COLUMNS, row[1:], strict=True) if value]


def _sharing(values: set[Pair]) -> Q:
    """Transactions carrying any of ``values``."""
    by_kind: dict[str, list[str]] = defaultdict(list)
    for kind, value in values:
        by_kind[kind].append(value)
    query = Q(pk__in=[])
    for kind, found in by_kind.items():
        query |= Q(**{f"{SHARED_COLUMNS[kind]}__in": sorted(found)})
    return query


def case_network(*, case: Case, now: datetime) -> NetworkJson:
    """The network around ``case``'s customer, labels as of ``now`` (two queries per hop,
    five for the tally)."""
    txn = case.decision.transaction
    integrator_id, center = txn.integrator_id, txn.customer_id
    hops: dict[str, int] = {center: 0}
    links: dict[Pair, set[str]] = defaultdict(set)  # shared value → customers seen with it
    capped = False
    frontier = {center}
    for hop in range(1, MAX_HOPS + 1):
        own = _rows(Q(customer_id__in=sorted(frontier)), integrator_id)
        capped |= len(own) > MAX_ROWS
        values = {pair for row in own[:MAX_ROWS] for pair in _pairs(row)}
        if not values:
            break
        shared = _rows(_sharing(values), integrator_id)
        capped |= len(shared) > MAX_ROWS
        frontier = set()
        for row in shared[:MAX_ROWS]:
            customer = row[0]
            if customer not in hops:
                if len(hops) >= MAX_CUSTOMERS:
                    capped = True
                    continue
                hops[customer] = hop
                frontier.add(customer)
            for pair in _pairs(row):
                if pair in values:
                    links[pair].add(customer)
        if not frontier:
            break
    return NetworkJson(
        center=f"customer:{center}",
        nodes=_customer_nodes(hops, integrator_id, now) + _value_nodes(links),
        edges=[
            EdgeJson(source=f"customer:{customer}", target=f"{kind}:{value}")
            for (kind, value), customers in sorted(links.items())
            if len(customers) > 1
            for customer in sorted(customers)
        ],
        capped=capped,
    )


def _customer_nodes(hops: dict[str, int], integrator_id: int, now: datetime) -> list[NodeJson]:
    theirs = Transaction.objects.filter(integrator_id=integrator_id, customer_id__in=sorted(hops))
    outcomes: dict[str, dict[str, int]] = defaultdict(dict)
    counts: dict[str, int] = defaultdict(int)
    for row in theirs.values("customer_id", "decision__outcome").annotate(n=Count("pk")).order_by():
        outcomes[row["customer_id"]][row["decision__outcome"] or "none"] = row["n"]
        counts[row["customer_id"]] += row["n"]
    labelled = theirs.filter(labels__isnull=False).distinct()
    fraud_pks = {
        pk for pk, label in labels_as_of(transactions=labelled, moment=now).items()
        if label == Label.FRAUD
    }  # fmt: skip
    fraud: dict[str, int] = defaultdict(int)
    for customer in Transaction.objects.filter(pk__in=fraud_pks).values_list(
        "customer_id", flat=True
    ):
        fraud[customer] += 1
    nodes = []
    for customer, hop in sorted(hops.items(), key=lambda item: (item[1], item[0])):
        mix = outcomes[customer]
        group = (
            "fraud"
            if fraud[customer]
            else next((o for o in ("decline", "review", "approve") if mix.get(o)), "approve")
        )
        nodes.append(
            NodeJson(
                id=f"customer:{customer}", kind="customer", value=customer, label=customer,
                hop=hop, transactions=counts[customer], fraud_labelled=fraud[customer],
                outcomes=mix, group=group, url=_url("customer", customer),
            )
        )  # fmt: skip
    return nodes


def _value_nodes(links: dict[Pair, set[str]]) -> list[NodeJson]:
    return [
        NodeJson(
            id=f"{kind}:{value}", kind=kind, value=value,
            label=f"{kind} {entity_display(kind, value)}", hop=-1, transactions=0,
            fraud_labelled=0, outcomes={}, group=kind, url=_url(kind, value),
        )
        for (kind, value), customers in sorted(links.items())
        if len(customers) > 1
    ]  # fmt: skip


def _url(kind: str, value: str) -> str:
    return reverse("entities:profile", kwargs={"kind": kind, "value": value})
