from django.apps import AppConfig


class InventoryConfig(AppConfig):
    name = "insightcloud.inventory"
    label = "inventory"
    verbose_name = "Inventory"
