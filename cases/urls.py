from django.urls import path

from cases import views

app_name = "cases"

urlpatterns = [
    path("", views.queue_page, name="queue"),
    path("next", views.case_next, name="next"),
    path("bulk-verdict", views.cases_bulk_verdict, name="bulk-verdict"),
    path("export.csv", views.cases_export_filtered, name="export-filtered"),
    path("queues/<int:queue_id>/export.csv", views.queue_export, name="export"),
    path("<int:case_id>/", views.case_detail, name="detail"),
    path("<int:case_id>/row", views.case_row, name="row"),
    path("<int:case_id>/claim", views.case_claim, name="claim"),
    path("<int:case_id>/renew", views.case_renew, name="renew"),
    path("<int:case_id>/verdict", views.case_verdict, name="verdict"),
    path("<int:case_id>/reassign", views.case_reassign, name="reassign"),
    path("<int:case_id>/escalate", views.case_escalate, name="escalate"),
    path("<int:case_id>/comment", views.case_comment, name="comment"),
]
