from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TargetsConfig(AppConfig):
    name = "guatu.targets"
    verbose_name = _("目标与考核")

    def ready(self) -> None:
        from guatu.targets import rollups

        rollups.connect()
