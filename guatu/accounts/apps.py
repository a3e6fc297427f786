from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "guatu.accounts"
    label = "accounts"
    verbose_name = "账号"
