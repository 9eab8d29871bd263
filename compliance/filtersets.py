"""The FilterSets of findings and exemptions. Findings: the REST API's list and export, and the GUI's
bulk exemption ("select all matching") use it, so a filter means the same thing everywhere."""

from __future__ import annotations

import django_filters
from django.db.models import Q, QuerySet
from django.utils import timezone

from compliance.models import Exemption, Finding, FindingStatus
from compliance.schema import CLOUDS, SEVERITIES

#: ``status``: open = failing and not exempted; exempted = failing under an active exemption; resolved = passing now.
STATUSES = (("open", "open"), ("exempted", "exempted"), ("resolved", "resolved"))


class FindingFilterSet(django_filters.FilterSet):
    cloud = django_filters.NumberFilter(field_name="cloud_id", label="Cloud id")
    cloud_name = django_filters.CharFilter(field_name="cloud__name", label="Cloud")
    provider = django_filters.ChoiceFilter(field_name="cloud__provider", choices=[(c, c) for c in CLOUDS])
    insight = django_filters.CharFilter(field_name="insight_id", label="Insight id")
    # Choices are the packs of the user's organization, set per request in __init__.
    pack = django_filters.ChoiceFilter(method="filter_pack", choices=[], label="Only insights of this pack")
    severity = django_filters.MultipleChoiceFilter(choices=[(s, s) for s in SEVERITIES], label="Severity (repeatable)")
    status = django_filters.MultipleChoiceFilter(method="filter_status", choices=STATUSES, label="Status (repeatable)")
    resource_type = django_filters.CharFilter(field_name="resource__resource_type", label="Normalized resource type")
    native_type = django_filters.CharFilter(field_name="resource__native_type", label="Native type")
    region = django_filters.CharFilter(field_name="resource__region")
    resource = django_filters.NumberFilter(field_name="resource_id", label="Resource (inventory id)")
    resource_id = django_filters.CharFilter(field_name="resource__native_id", label="Resource id (ARN, native id)")
    q = django_filters.CharFilter(method="search", label="Resource name or id contains")

    class Meta:
        model = Finding
        fields: list[str] = []

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        from compliance.library import packs_for

        user = getattr(self.request, "user", None)
        organization_id = getattr(user, "organization_id", None)
        self._packs = packs_for(organization_id)
        # On this request's form, not on the filter: a filter caches its form field across instances.
        self.form.fields["pack"].choices = [(key, pack.name) for key, pack in sorted(self._packs.items())]

    def filter_pack(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.filter(insight_id__in=sorted(self._packs[value].insight_ids()))

    def filter_status(self, queryset: QuerySet, name: str, values: list[str]) -> QuerySet:
        if not values:
            return queryset
        # Exemption windows are decided at read time (an expired exemption keeps its link): one join, no subquery.
        now = timezone.now()
        exempted = (
            Q(exemption__isnull=False)
            & Q(exemption__starts_at__lte=now)
            & (Q(exemption__expires_at__isnull=True) | Q(exemption__expires_at__gt=now))
        )
        not_exempted = Q(exemption__isnull=True) | Q(exemption__starts_at__gt=now) | Q(exemption__expires_at__lte=now)
        wanted = Q(pk__in=[])
        if "open" in values:
            wanted |= Q(status=FindingStatus.OPEN) & not_exempted
        if "exempted" in values:
            wanted |= Q(status=FindingStatus.OPEN) & exempted
        if "resolved" in values:
            wanted |= Q(status=FindingStatus.RESOLVED)
        return queryset.filter(wanted)

    def search(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.filter(Q(resource__name__icontains=value) | Q(resource__native_id__icontains=value))


class ExemptionFilterSet(django_filters.FilterSet):
    insight = django_filters.CharFilter(field_name="insight_id")
    cloud = django_filters.NumberFilter(field_name="cloud_id")
    resource = django_filters.NumberFilter(field_name="resource_id", label="Resource (inventory id)")
    active = django_filters.BooleanFilter(method="filter_active", label="Active now (true) or ended (false)")

    class Meta:
        model = Exemption
        fields: list[str] = []

    def filter_active(self, queryset, name: str, value: bool | None):  # noqa: ANN001, ANN201
        if value is None:
            return queryset
        active = Exemption.objects.active()
        return queryset.filter(pk__in=active.values("pk")) if value else queryset.exclude(pk__in=active.values("pk"))
