from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "insightcloud.accounts"
    label = "accounts"
    verbose_name = "Users and access"
