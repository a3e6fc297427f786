from django.apps import AppConfig


class ProgressConfig(AppConfig):
    name = "guatu.progress"
    label = "progress"
    verbose_name = "月报与预警"
