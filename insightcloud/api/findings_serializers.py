"""Findings and exemptions in the API. A finding reads as the row of the findings export
(compliance/export.py), plus the ids that link it to the rest of the API."""

from __future__ import annotations

from rest_framework import serializers

from compliance import export
from compliance.exemptions import MAX_REASON, MAX_RESOURCES
from compliance.models import Exemption, Finding
from insightcloud.api.serializers import _iso


class ExemptionSerializer(serializers.ModelSerializer):
    organization = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    resource_id = serializers.CharField(source="resource.native_id", read_only=True, allow_null=True)
    active = serializers.SerializerMethodField()

    class Meta:
        model = Exemption
        fields = [
            "id",
            "organization",
            "insight_id",
            "cloud",
            "resource",
            "resource_id",
            "resource_group",
            "tag_key",
            "tag_value",
            "name_regex",
            "reason",
            "approved_by",
            "starts_at",
            "expires_at",
            "created_at",
            "active",
        ]
        read_only_fields = fields

    def get_active(self, exemption: Exemption) -> bool:
        return exemption.is_active()


class FindingExemptionSerializer(serializers.Serializer):
    """The exemption a finding is linked to (``active`` false once it expired or was revoked)."""

    id = serializers.IntegerField()
    reason = serializers.CharField()
    approved_by = serializers.CharField()
    expires_at = serializers.DateTimeField(allow_null=True)
    active = serializers.BooleanField()


class FindingSerializer(serializers.Serializer):
    """Needs ``insights``, ``evaluated_at`` and ``now`` in its context (one read per request, not per row)."""

    id = serializers.IntegerField()
    cloud = serializers.IntegerField(help_text="cloud id")
    resource = serializers.IntegerField(help_text="inventory id of the resource (/api/v1/resources/{id}/)")
    insight_id = serializers.CharField()
    insight_name = serializers.CharField(allow_blank=True)
    severity = serializers.CharField()
    provider = serializers.CharField()
    cloud_name = serializers.CharField()
    account_id = serializers.CharField(allow_blank=True)
    region = serializers.CharField(allow_blank=True)
    resource_type = serializers.CharField(allow_blank=True)
    native_type = serializers.CharField(allow_blank=True)
    resource_id = serializers.CharField(help_text="the provider's id (ARN, resource id …)")
    resource_name = serializers.CharField(allow_blank=True)
    status = serializers.ChoiceField(choices=["fail", "resolved"])
    exempted = serializers.BooleanField(help_text="an active exemption covers it (it then counts as passing)")
    first_seen = serializers.DateTimeField()
    last_seen = serializers.DateTimeField()
    resolved_at = serializers.DateTimeField(allow_null=True)
    controls = serializers.ListField(child=serializers.CharField())
    exemption = FindingExemptionSerializer(allow_null=True)

    def to_representation(self, finding: Finding) -> dict:
        context = self.context
        row = export.public(export.record(finding, context["insights"], context["evaluated_at"], context["now"]))
        exemption = finding.exemption
        return {
            "id": finding.pk,
            "cloud": finding.cloud_id,
            "resource": finding.resource_id,
            **row,
            "exemption": None
            if exemption is None
            else {
                "id": exemption.pk,
                "reason": exemption.reason,
                "approved_by": exemption.approved_by,
                "expires_at": _iso(exemption.expires_at),
                "active": exemption.is_active(context["now"]),
            },
        }


class ExemptionRequestSerializer(serializers.Serializer):
    """Exempt one finding (``finding``), or in bulk an ``insight`` for a list of ``resources`` or for
    every failing resource matching a ``filter`` (the findings list's parameters, e.g. ``{"cloud": 3}``)."""

    finding = serializers.IntegerField(required=False, help_text="one finding's id")
    insight = serializers.CharField(required=False, max_length=100, help_text="with resources or filter")
    resources = serializers.ListField(
        child=serializers.IntegerField(), required=False, max_length=MAX_RESOURCES, help_text="inventory ids"
    )
    filter = serializers.DictField(
        child=serializers.JSONField(),
        required=False,
        help_text="findings-list filters (cloud, region, resource_type, severity, q …): every failing, "
        "not yet exempted resource of the insight that matches",
    )
    reason = serializers.CharField(max_length=MAX_REASON)
    expires_at = serializers.DateTimeField(required=False, allow_null=True, help_text="in the future; none: never")

    def validate_filter(self, value: dict) -> dict:
        """Values as in a query string: a text or number, or a list of them for repeatable ones (severity, status)."""
        scalar = (str, int, float)
        cleaned = {}
        for name, item in value.items():
            if isinstance(item, scalar) and not isinstance(item, bool):
                cleaned[name] = str(item)
            elif isinstance(item, list) and all(isinstance(v, scalar) and not isinstance(v, bool) for v in item):
                cleaned[name] = [str(v) for v in item]
            else:
                raise serializers.ValidationError(f"{name}: a text, a number or a list of them")
        return cleaned

    def validate(self, attrs: dict) -> dict:
        given = [name for name in ("finding", "resources", "filter") if name in attrs]
        if len(given) != 1:
            raise serializers.ValidationError({"non_field_errors": ["give exactly one of finding, resources, filter"]})
        if given[0] == "finding" and attrs.get("insight"):
            raise serializers.ValidationError({"insight": ["a finding already names its insight; leave this out"]})
        if given[0] != "finding" and not attrs.get("insight"):
            raise serializers.ValidationError({"insight": [f"required with {given[0]}"]})
        return attrs


class ExemptionOutcomeSerializer(serializers.Serializer):
    created = ExemptionSerializer(many=True)
    already_exempted = serializers.ListField(
        child=serializers.IntegerField(), help_text="resources skipped: an active exemption already covers them"
    )
