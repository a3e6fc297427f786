from django.urls import path

from guatu.progress import views

app_name = "progress"

urlpatterns = [
    # --- monthly reports
    path("reports/", views.ReportListView.as_view(), name="report_list"),
    path("reports/sheet/", views.ReportSheetDownloadView.as_view(), name="report_sheet"),
    path(
        "reports/new/<int:project_id>/<str:month>/",
        views.ReportAddView.as_view(),
        name="report_add",
    ),
    path("reports/<int:pk>/", views.ReportDetailView.as_view(), name="report_detail"),
    path(
        "reports/<int:pk>/<str:action>/",
        views.ReportActionView.as_view(),
        name="report_action",
    ),
    path("photos/<int:pk>/", views.ReportPhotoView.as_view(), name="report_photo"),
    # --- warnings
    path("warnings/", views.WarningListView.as_view(), name="warning_list"),
    path("warnings/rules/<int:pk>/", views.WarningRuleEditView.as_view(), name="warning_rule_edit"),
]
