from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "guatu.core"
    label = "core"
    verbose_name = "核心"
