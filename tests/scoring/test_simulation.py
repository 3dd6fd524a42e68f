"""History and live traffic come from one seeded population."""

from datetime import UTC, datetime

from scoring.simulation.history import HistorySimulator
from scoring.simulation.population import Population
from scoring.simulation.traffic import TrafficSimulator

START = datetime(2026, 8, 1, tzinfo=UTC)


def live_sample(seed: int, customers: int, count: int = 3000):
    stream = TrafficSimulator(seed=seed, customers=customers, run="r").stream(START, rate=10)
    return [next(stream) for _ in range(count)]


def test_the_live_simulator_rebuilds_the_historys_population_from_the_seed():
    history, live = HistorySimulator(seed=5, customers=80), TrafficSimulator(seed=5, customers=80)

    assert live.population.customers == history.customers
    assert live.population.merchants == history.merchants
    assert Population.of_seed(6, customers=80).customers != history.customers


def test_everyday_live_payments_are_the_history_customers_on_their_own_cards_devices_and_shops():
    simulator = HistorySimulator(seed=5, customers=80)
    history = simulator.generate(start=START, days=60)
    seen = {
        (t.payload["customer_id"], t.payload["card_id"], t.payload.get("device_id"))
        for t in history
    }
    favourites = {(c.id, m) for c in simulator.customers for m in c.merchants}
    normal = [t.payload for t in live_sample(5, 80) if t.pattern in {"normal", "big_purchase"}]

    assert len(normal) > 2000
    assert all((p["customer_id"], p["card_id"], p["device_id"]) in seen for p in normal)
    assert all((p["customer_id"], p["merchant_id"]) in favourites for p in normal)


def test_fraud_in_live_traffic_strikes_customers_of_the_history():
    customers = {c.id for c in HistorySimulator(seed=5, customers=80).customers}
    fraud = [t.payload for t in live_sample(5, 80) if t.pattern not in {"normal", "big_purchase"}]

    assert fraud
    assert {p["customer_id"] for p in fraud} <= customers


def test_live_payments_carry_the_customers_local_time():
    population = Population.of_seed(5, customers=80)
    offsets = {c.id: c.tz.utcoffset(None) for c in population.customers}
    for txn in live_sample(5, 80, count=200):
        occurred = datetime.fromisoformat(txn.payload["occurred_at"])
        assert occurred.utcoffset() == offsets[txn.payload["customer_id"]]
