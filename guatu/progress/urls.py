from django.urls import path

from guatu.progress import views

app_name = "progress"

urlpatterns = [
    # --- monthly reports
    path("reports/", views.ReportListView.as_view(), name="report_list"),
    # --- warnings
    path("warnings/", views.WarningListView.as_view(), name="warning_list"),
]
