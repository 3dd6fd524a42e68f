from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

from cases import views as cases_views
from fraudops import views
from rules import insight_views
from scoring import views as scoring_views
from scoring.api import metrics_view

urlpatterns = [
    path("", views.home, name="home"),
    path("start", views.start, name="start"),
    path("healthz", views.healthz, name="healthz"),
    path("favicon.ico", views.favicon, name="favicon"),
    path("metrics", metrics_view, name="metrics"),
    path("decisions/live", scoring_views.decisions_live, name="decisions-live"),
    path("decisions/live/rows", scoring_views.decisions_live_rows, name="decisions-live-rows"),
    path("models/compare", scoring_views.model_compare, name="model-compare"),
    path("rules/performance", insight_views.rule_performance_page, name="rule-performance"),
    path("rules/console", insight_views.rule_console_page, name="rule-console"),
    path("rules/console/draft", insight_views.rule_console_draft, name="rule-console-draft"),
    path("admin/", admin.site.urls),
    path("accounts/", include("django.contrib.auth.urls")),
    path("cases/", include("cases.urls")),
    # Entity profiles, and a case's network (cases/<id>/network): after cases/ on purpose.
    path("", include("cases.entity_urls")),
    path("models/", include("scoring.model_urls")),
    path("kpis/", cases_views.kpi_dashboard, name="kpis"),
    path("api/v1/", include("scoring.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="swagger-ui"),
    path("api/redoc/", SpectacularRedocView.as_view(url_name="schema"), name="redoc"),
]

if settings.BENCH_FLOOR_ENDPOINTS:
    from bench.floor import urlpatterns as floor_urlpatterns

    urlpatterns += floor_urlpatterns
