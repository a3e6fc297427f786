from django.apps import AppConfig


class OrgConfig(AppConfig):
    name = "guatu.org"
    label = "org"
    verbose_name = "组织"
