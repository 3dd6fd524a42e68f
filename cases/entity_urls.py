"""Entity profiles and a case's network (included at the site's root, after ``cases/``)."""

from django.urls import path

from cases import entity_views

app_name = "entities"

urlpatterns = [
    path("entities/<str:kind>/<path:value>", entity_views.entity_page, name="profile"),
    path("cases/<int:case_id>/network", entity_views.network_page, name="network"),
    path("cases/<int:case_id>/network.json", entity_views.network_json, name="network-json"),
]
