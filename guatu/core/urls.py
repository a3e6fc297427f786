from django.urls import path

from guatu.core import views

app_name = "core"

urlpatterns = [
    path("changes/", views.ChangeLogView.as_view(), name="changelog"),
]
