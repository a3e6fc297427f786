from django.urls import path  # noqa: F401  (used as the sections fill in)

from guatu.speeches import views  # noqa: F401  (each section adds its pages below)

app_name = "speeches"

urlpatterns = [
    # --- library
    # --- breakdown
]
