"""Fast cell rendering for the inventory table.

django-tables2 defines the columns, their order and the sorting; rendering every cell through it
inspects call signatures per cell, which costs more than the database query on a 50-row page.
"""

from __future__ import annotations

from django import template
from django.utils.html import format_html

from insightcloud.inventory.models import Resource

register = template.Library()


@register.simple_tag
def inventory_cell(resource: Resource, column: str) -> str:
    if column == "name":
        return format_html('<a href="/resources/{}">{}</a>', resource.pk, resource.name or resource.native_id)
    if column == "cloud":
        return format_html("{}", resource.cloud.name)
    if column == "account_id":
        return format_html("{}", resource.cloud.account_id)
    if column in ("first_seen", "last_seen"):
        value = getattr(resource, column)
        return value.strftime("%Y-%m-%d %H:%M") if value else ""
    return format_html("{}", getattr(resource, column))
