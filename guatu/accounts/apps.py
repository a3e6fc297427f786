from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "guatu.accounts"
    label = "accounts"
    verbose_name = "账号"

    def ready(self):
        from guatu.accounts import signals  # noqa: F401  (connects the login log)
