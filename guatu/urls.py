from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from guatu.accounts.views import home

urlpatterns = [
    path("", home, name="home"),
    path("login/", auth_views.LoginView.as_view(template_name="accounts/login.html"), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("accounts/", include("guatu.accounts.urls")),
    path("projects/", include("guatu.projects.urls")),
    path("progress/", include("guatu.progress.urls")),
    path("targets/", include("guatu.targets.urls")),
    path("problems/", include("guatu.problems.urls")),
    path("attraction/", include("guatu.attraction.urls")),
    path("core/", include("guatu.core.urls")),
    path("dashboard/", include("guatu.dashboard.urls")),
    path("speeches/", include("guatu.speeches.urls")),
    path("api/", include("guatu.api_urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    # The split view serves Swagger UI's start-up script as a file of its own: no inline script,
    # so the page keeps the strict Content-Security-Policy.
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="api-docs"),
]

# 500, and 503 with Retry-After while the database cannot be reached: a Chinese page, no traceback.
handler500 = "guatu.core.errors.server_error"
