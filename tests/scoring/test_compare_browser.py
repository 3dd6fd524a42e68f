"""The comparison page in a real browser (Debian's chromium via Playwright, a live ASGI
server): with a champion, a challenger in shadow and labelled shadow scores, each Plotly
figure draws (issue 12, Done-when 6); so do the model page's threshold trade-offs."""

import pytest

from scoring.models import ThresholdCosts
from tests import factories
from tests.browser import PASSWORD, log_in, shot
from tests.scoring.compare_seed import champion_and_challenger, labelled_window
from tests.scoring.test_model_thresholds import _curve

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_manager_sees_the_comparison_figures_drawn_and_an_admin_the_threshold_trade_off(
    live_server_url,
    chromium,
):
    # One live server for both pages (a live server takes seconds to start and stop).
    champion, challenger = champion_and_challenger()
    labelled_window(champion, challenger)
    champion.threshold_curve = _curve()
    champion.save()
    ThresholdCosts.objects.create(
        pk=1, review_cost=5.0, reviews_per_day=1000, decline_fpr_ceiling=0.2
    )
    factories.user("mia", "manager", password=PASSWORD)
    admin = factories.user("ada", "admin", password=PASSWORD)
    admin.is_staff = True
    admin.save()

    page = log_in(chromium, live_server_url, "mia", "/models/compare")

    for i in (1, 2, 3):
        # Plotly drew an SVG into the div (not merely shipped the figure's JSON)
        page.wait_for_selector(f"#compare-figure-{i}-plot .main-svg", timeout=10_000)
    assert page.locator("#compare-figure-1-plot .main-svg .bars .point").count() >= 4
    assert page.locator("#compare-figure-2-plot .main-svg .scatterlayer .trace").count() == 3
    assert page.inner_text("#compare-labelled") == "60"
    assert page.locator("#compare-changed tbody tr").count() > 0
    shot(page, "compare-1-manager")

    url = f"/admin/scoring/modelversion/{champion.pk}/change/"
    page = log_in(chromium, live_server_url, "ada", url)

    page.wait_for_selector("#threshold-figure-1-plot .main-svg", timeout=10_000)
    page.wait_for_selector("#threshold-figure-2-plot .main-svg", timeout=10_000)
    assert "review ≥ 0.3, decline ≥ 0.7" in page.inner_text("#threshold-recommendation")
    # Each trade-off fits its box once the page has settled (it was drawn for a wider one).
    page.wait_for_function(
        """[...document.querySelectorAll('#threshold-advice .chart')].every(
            c => c.querySelector('.main-svg').getBoundingClientRect().width
                 <= c.getBoundingClientRect().width + 1)""",
        timeout=10_000,
    )
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    shot(page, "compare-2-model-page")
    page.click("#apply-thresholds input[type=submit]")
    page.wait_for_selector(".messagelist .success")
    assert "review ≥ 0.3, decline ≥ 0.7" in page.inner_text(".messagelist")
    assert "Proposed in" in page.inner_text(".messagelist")

    # The shadow's page: the lifecycle's buttons sit below the admin's form, full width, not
    # squeezed beside it, and nothing on the page is wider than the window.
    page.goto(f"{live_server_url}/admin/scoring/modelversion/{challenger.pk}/change/")
    panel = page.locator("#model-lifecycle")
    box, form = panel.bounding_box(), page.locator("#content-main").bounding_box()
    assert box is not None
    assert form is not None
    assert box["width"] >= 0.9 * form["width"]
    assert box["y"] >= form["y"] + form["height"] - 1
    assert page.locator("#model-lifecycle input[name=reason]").first.is_visible()
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    shot(page, "compare-3-lifecycle")
