from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SpeechesConfig(AppConfig):
    name = "guatu.speeches"
    verbose_name = _("讲话与任务分解")
