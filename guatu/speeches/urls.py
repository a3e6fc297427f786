from django.urls import path

from guatu.speeches import views

app_name = "speeches"

urlpatterns = [
    # --- library
    path("", views.SpeechListView.as_view(), name="speech_list"),
    path("import/", views.DocumentImportView.as_view(), name="document_import"),
    path("documents/<int:pk>/", views.DocumentDetailView.as_view(), name="document_detail"),
    path("<int:pk>/", views.SpeechDetailView.as_view(), name="speech_detail"),
    path("<int:pk>/edit/", views.SpeechEditView.as_view(), name="speech_edit"),
    # --- breakdown
    path("<int:pk>/breakdown/", views.SpeechBreakdownView.as_view(), name="speech_breakdown"),
    path("<int:pk>/extract/", views.SpeechExtractView.as_view(), name="speech_extract"),
    path(
        "<int:pk>/breakdown/export.<str:fmt>",
        views.SpeechBreakdownExportView.as_view(),
        name="breakdown_export",
    ),
    path("items/<int:pk>/accept/", views.ItemAcceptView.as_view(), name="item_accept"),
    path("items/<int:pk>/reject/", views.ItemRejectView.as_view(), name="item_reject"),
    path("items/<int:pk>/edit/", views.ItemEditView.as_view(), name="item_edit"),
    path("tasks/", views.TaskListView.as_view(), name="task_list"),
    path("tasks/add/", views.TaskEditView.as_view(), name="task_add"),
    path("tasks/import/", views.TaskImportView.as_view(), name="task_import"),
    path("tasks/export.<str:fmt>", views.TaskExportView.as_view(), name="task_export"),
    path("tasks/<int:pk>/", views.TaskDetailView.as_view(), name="task_detail"),
    path("tasks/<int:pk>/edit/", views.TaskEditView.as_view(), name="task_edit"),
    path("tasks/<int:pk>/act/<slug:action>/", views.TaskActView.as_view(), name="task_act"),
    path("tasks/<int:pk>/note/", views.TaskNoteView.as_view(), name="task_note"),
]
