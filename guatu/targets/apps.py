from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TargetsConfig(AppConfig):
    name = "guatu.targets"
    verbose_name = _("目标与考核")

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from guatu.targets import rollups

        rollups.connect()
        post_migrate.connect(rollups.fill_after_migrate, sender=self, dispatch_uid="guatu.rollups.fill")
