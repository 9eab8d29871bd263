from django.apps import AppConfig


class HarvestersConfig(AppConfig):
    name = "harvesters"
    verbose_name = "Cloud harvesters"
