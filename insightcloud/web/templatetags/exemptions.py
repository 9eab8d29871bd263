"""The insight page's bulk exemption form, as one tag, so the page template only gains one line
(and the checkbox column) and the view needs no change."""

from __future__ import annotations

from datetime import timedelta

from django import template
from django.utils import timezone

from insightcloud.accounts.permissions import may_exempt_findings

register = template.Library()


@register.inclusion_tag("web/_bulk_exempt.html", takes_context=True)
def bulk_exempt_form(context: template.Context, insight) -> dict:  # noqa: ANN001
    from compliance.exemptions import ExemptionInputError, failing_findings
    from insightcloud.web.compliance_views import BULK_FILTERS

    request = context["request"]
    if not may_exempt_findings(request.user):
        return {"may_exempt": False}
    filters = {name: request.GET.getlist(name) for name in BULK_FILTERS if any(request.GET.getlist(name))}
    try:
        matching = failing_findings(request.user, insight.id, filters, request).count()
    except ExemptionInputError:
        matching = 0  # the page shows the filter's own error; "all matching" is then offered for nothing
    return {
        "may_exempt": True,
        "insight": insight,
        "filters": [(name, value) for name, values in filters.items() for value in values],
        "matching": matching,
        "tomorrow": (timezone.localdate() + timedelta(days=1)).isoformat(),
        "csrf_token": context.get("csrf_token"),
    }
