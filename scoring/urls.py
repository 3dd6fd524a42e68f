from django.urls import path

from scoring import api

urlpatterns = [
    path("decisions", api.DecisionCreateApi.as_view(), name="decision-create"),
    path("decisions/<str:decision_id>", api.DecisionDetailApi.as_view(), name="decision-detail"),
    path("labels", api.LabelCreateApi.as_view(), name="label-create"),
]
