"""Template helpers of the insight builder: a field's error slot and dictionary lookups."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe

register = template.Library()


@register.simple_tag
def error_slot(errors: dict, slot: str, oob: bool = False) -> str:
    """The element beside a field that shows its errors; the validate answer replaces each one out of band."""
    problems = errors.get(slot, [])
    items = format_html_join("", "<li>{}</li>", ((problem,) for problem in problems))
    return format_html(
        '<ul class="field-errors" id="err-{}"{}{}>{}</ul>',
        slot,
        mark_safe(' hx-swap-oob="true"') if oob else "",
        mark_safe(' role="alert"') if problems else "",
        items,
    )


@register.filter
def lookup(mapping: Any, key: str) -> Any:
    return mapping.get(key, "") if isinstance(mapping, dict) else ""
