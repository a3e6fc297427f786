from django.urls import path

from guatu.projects import views

app_name = "projects"

urlpatterns = [
    path("", views.ProjectListView.as_view(), name="project_list"),
    path("add/", views.ProjectEditView.as_view(), name="project_add"),
    path("export/", views.ProjectExportView.as_view(), name="project_export"),
    path("<int:pk>/", views.ProjectDetailView.as_view(), name="project_detail"),
    path("<int:pk>/edit/", views.ProjectEditView.as_view(), name="project_edit"),
    path("<int:pk>/delete/", views.ProjectDeleteView.as_view(), name="project_delete"),
    path("<int:pk>/stage/", views.ProjectStageView.as_view(), name="project_stage"),
    # 前期手续 and 节点 of one project; the approval kinds (project office)
    path("<int:pk>/approvals/", views.ProjectApprovalsView.as_view(), name="project_approvals"),
    path("<int:pk>/approvals/<int:approval_id>/", views.ApprovalUpdateView.as_view(), name="approval_update"),
    path(
        "<int:pk>/milestones/<str:kind>/<str:which>/",
        views.MilestoneUpdateView.as_view(),
        name="milestone_update",
    ),
    path("approval-kinds/", views.ApprovalKindListView.as_view(), name="approval_kind_list"),
    path("approval-kinds/<int:pk>/edit/", views.ApprovalKindEditView.as_view(), name="approval_kind_edit"),
]
