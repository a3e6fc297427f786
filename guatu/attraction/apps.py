from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AttractionConfig(AppConfig):
    name = "guatu.attraction"
    verbose_name = _("招商引资")

    def ready(self) -> None:
        # --- leads: signings and funds in place join the targets catalogue.
        from guatu.attraction.metrics import register_metrics

        register_metrics()
