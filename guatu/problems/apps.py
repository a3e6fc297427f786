from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ProblemsConfig(AppConfig):
    name = "guatu.problems"
    verbose_name = _("问题与服务")

    def ready(self) -> None:
        # --- problems and the 直通车: the assessment metrics join the targets catalogue.
        from guatu.problems.metrics import register_metrics

        register_metrics()
