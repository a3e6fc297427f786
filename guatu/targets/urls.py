from django.urls import path  # noqa: F401

from guatu.targets import views  # noqa: F401

app_name = "targets"

urlpatterns = [
    # --- targets and pledges (targets helper)
    # --- scoring and rankings (rankings helper)
    # --- bulletin (bulletin helper)
]
