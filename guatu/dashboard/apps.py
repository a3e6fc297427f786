from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DashboardConfig(AppConfig):
    name = "guatu.dashboard"
    verbose_name = _("挂图作战")
