from django.urls import path

from guatu.core import imports, views

app_name = "core"

urlpatterns = [
    path("changes/", views.ChangeLogView.as_view(), name="changelog"),
    path("logins/", views.LoginLogView.as_view(), name="login_log"),
    path("imports/<str:kind>/", imports.ImportView.as_view(), name="import"),
    path("imports/<str:kind>/template/", imports.TemplateDownloadView.as_view(), name="import_template"),
    path("imports/job/<int:pk>/", imports.ImportJobView.as_view(), name="import_job"),
    path(
        "imports/job/<int:pk>/progress/", imports.ImportJobProgressView.as_view(), name="import_job_progress"
    ),
    path("imports/job/<int:pk>/commit/", imports.ImportJobCommitView.as_view(), name="import_job_commit"),
]
