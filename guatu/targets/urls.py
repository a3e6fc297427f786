from django.urls import path

from guatu.targets import views

app_name = "targets"

urlpatterns = [
    # --- targets and pledges
    path("", views.TargetListView.as_view(), name="target_list"),
    path("add/", views.TargetEditView.as_view(), name="target_add"),
    path("<int:pk>/", views.TargetDetailView.as_view(), name="target_detail"),
    path("<int:pk>/edit/", views.TargetEditView.as_view(), name="target_edit"),
    path("<int:pk>/delete/", views.TargetDeleteView.as_view(), name="target_delete"),
    path("<int:pk>/split/", views.TargetSplitView.as_view(), name="target_split"),
    path("pledges/", views.PledgeListView.as_view(), name="pledge_list"),
    path("pledges/add/", views.PledgeEditView.as_view(), name="pledge_add"),
    path("pledges/<int:pk>/", views.PledgeDetailView.as_view(), name="pledge_detail"),
    path("pledges/<int:pk>/edit/", views.PledgeEditView.as_view(), name="pledge_edit"),
    path("pledges/<int:pk>/delete/", views.PledgeDeleteView.as_view(), name="pledge_delete"),
    # --- scoring and rankings
    path("rankings/", views.RankingView.as_view(), name="ranking"),
    path("schemes/", views.SchemeListView.as_view(), name="scheme_list"),
    path("schemes/<int:pk>/", views.SchemeDetailView.as_view(), name="scheme_detail"),
    # --- bulletin
    path("bulletin/", views.BulletinView.as_view(), name="bulletin"),
    path("bulletin/download/", views.BulletinView.as_view(download=True), name="bulletin_download"),
]
