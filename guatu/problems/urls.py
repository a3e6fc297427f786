from django.urls import path

from guatu.problems import views

app_name = "problems"

urlpatterns = [
    # --- problems and the 直通车
    path("", views.ProblemListView.as_view(), name="problem_list"),
    path("add/", views.ProblemEditView.as_view(), name="problem_add"),
    path("direct-line/", views.DirectLineView.as_view(), name="direct_line"),
    path("<int:pk>/", views.ProblemDetailView.as_view(), name="problem_detail"),
    path("<int:pk>/edit/", views.ProblemEditView.as_view(), name="problem_edit"),
    path("<int:pk>/act/<slug:action>/", views.ProblemActView.as_view(), name="problem_act"),
    path("<int:pk>/escalate/", views.ProblemEscalateView.as_view(), name="problem_escalate"),
    path("<int:pk>/instruct/", views.ProblemInstructView.as_view(), name="problem_instruct"),
    path("<int:pk>/attachments/", views.ProblemAttachView.as_view(), name="problem_attach"),
    path("attachments/<int:pk>/", views.AttachmentDownloadView.as_view(), name="attachment_download"),
    # --- stewards, contacts, visits and agency requests
    path("stewards/", views.StewardCoverageView.as_view(), name="steward_coverage"),
    path("stewards/<int:pk>/assign/", views.StewardAssignView.as_view(), name="steward_assign"),
    path("projects/<int:pk>/contacts/add/", views.ContactAddView.as_view(), name="contact_add"),
    path("contacts/<int:pk>/edit/", views.ContactEditView.as_view(), name="contact_edit"),
    path("contacts/<int:pk>/remove/", views.ContactRemoveView.as_view(), name="contact_remove"),
    path("visits/", views.VisitListView.as_view(), name="visit_list"),
    path("visits/<int:pk>/", views.VisitDetailView.as_view(), name="visit_detail"),
    path("projects/<int:pk>/visits/add/", views.VisitAddView.as_view(), name="visit_add"),
    path("agency/", views.AgencyListView.as_view(), name="agency_list"),
    path("agency/<int:pk>/", views.AgencyDetailView.as_view(), name="agency_detail"),
    path("agency/<int:pk>/<str:action>/", views.AgencyActionView.as_view(), name="agency_action"),
    path("projects/<int:pk>/agency/add/", views.AgencyAddView.as_view(), name="agency_add"),
    # --- notifications
    path("notifications/", views.NotificationListView.as_view(), name="notification_list"),
    path("notifications/<int:pk>/open/", views.NotificationOpenView.as_view(), name="notification_open"),
    path("notifications/read-all/", views.NotificationReadAllView.as_view(), name="notification_read_all"),
    path("notifications/settings/", views.NotificationSettingsView.as_view(), name="notification_settings"),
]
