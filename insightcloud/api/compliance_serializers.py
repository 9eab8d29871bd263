"""Insights, packs and scorecards in the API.

Writes are validated by ``compliance.editor`` alone (the one insight / pack schema that the GUI and
``manage.py insights validate`` use): the declared fields document the shape, and the errors come
back keyed by the path of the offending field (``{"fields": {"filters[0].op": ["unknown operator …"]}}``).
"""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from compliance import editor
from compliance.models import Scorecard
from compliance.schema import CLOUDS, SEVERITIES, Insight, Pack

#: Not part of a definition: shown by GET and ignored when sent back (a client may PUT what it read);
#: ``enabled`` is read separately.
READ_ONLY = frozenset({"source", "hash", "editable", "failing", "coverage", "enabled"})


class InsightSerializer(serializers.Serializer):
    """An insight; instances are ``(Insight, CustomInsight row or None, failing count, editable)``."""

    id = serializers.RegexField(r"^[a-z0-9]+(-[a-z0-9]+)*$", max_length=100)
    name = serializers.CharField(max_length=200)
    description = serializers.CharField()
    severity = serializers.ChoiceField(SEVERITIES)
    resource_types = serializers.ListField(child=serializers.CharField(), min_length=1)
    clouds = serializers.ListField(child=serializers.ChoiceField(CLOUDS), min_length=1)
    filters = serializers.ListField(
        child=serializers.JSONField(), min_length=1, help_text="a list = and; see the filter language"
    )
    remediation = serializers.CharField()
    references = serializers.ListField(child=serializers.CharField(), required=False)
    controls = serializers.ListField(child=serializers.CharField(), required=False)
    tests = serializers.DictField(required=False)
    enabled = serializers.BooleanField(
        required=False, help_text="custom insights only; disabled ones are not evaluated"
    )
    source = serializers.CharField(read_only=True, help_text="'custom' or 'builtin:<file>'")
    hash = serializers.CharField(read_only=True)
    editable = serializers.BooleanField(read_only=True)
    failing = serializers.IntegerField(read_only=True, help_text="open findings in the clouds you see")

    def to_representation(self, instance: tuple) -> dict:
        insight, row, failing, editable = instance
        return {
            **insight.definition(),
            "enabled": row.enabled if row is not None else True,
            "source": insight.source,
            "hash": insight.hash,
            "editable": editable,
            "failing": failing,
        }

    def to_internal_value(self, data: Any) -> dict:
        if not isinstance(data, dict):
            raise serializers.ValidationError({editor.NON_FIELD: ["expected a JSON object"]})
        row = self.instance[1] if self.instance else None
        definition = dict(row.definition) if (row is not None and self.partial) else {}
        # Unknown keys are left in for the schema to name ("colour: unknown key; expected one of …").
        definition.update({key: value for key, value in data.items() if key not in READ_ONLY})
        enabled = data.get("enabled")
        try:
            insight = editor.validate_insight(definition, self.context["request"].user.organization_id, row)
        except editor.ValidationFailed as exc:
            errors = dict(exc.errors)
            if enabled is not None and not isinstance(enabled, bool):
                errors["enabled"] = ["must be true or false"]
            raise serializers.ValidationError(errors) from None
        if enabled is not None and not isinstance(enabled, bool):
            raise serializers.ValidationError({"enabled": ["must be true or false"]})
        return {"definition": insight.definition(), "enabled": enabled}


def insight_item(insight: Insight, row: Any, failing: int, editable: bool) -> tuple:
    return (insight, row, failing, editable)


class PackSerializer(serializers.Serializer):
    """A pack; instances are ``(Pack, editable, CustomPack row or None)``."""

    id = serializers.RegexField(r"^[a-z0-9]+([.-][a-z0-9]+)*$", max_length=100)
    name = serializers.CharField()
    version = serializers.CharField(required=False, allow_blank=True)
    description = serializers.CharField(required=False, allow_blank=True)
    clouds = serializers.ListField(child=serializers.ChoiceField(CLOUDS), required=False)
    controls = serializers.ListField(
        child=serializers.DictField(), min_length=1, help_text="{id, title, insights: [insight ids], manual, note}"
    )
    source = serializers.CharField(read_only=True)
    editable = serializers.BooleanField(read_only=True)
    coverage = serializers.DictField(read_only=True)

    def to_representation(self, instance: tuple) -> dict:
        pack, editable, _ = instance
        controls = []
        for control in pack.controls:
            item: dict[str, Any] = {"id": control.id, "title": control.title, "insights": list(control.insights)}
            if control.manual:
                item["manual"] = True
            if control.note:
                item["note"] = control.note
            controls.append(item)
        return {
            "id": pack.id,
            "name": pack.name,
            "version": pack.version,
            "description": pack.description,
            "clouds": list(pack.clouds),
            "controls": controls,
            "source": pack.source,
            "editable": editable,
            "coverage": pack.coverage(),
        }

    def to_internal_value(self, data: Any) -> dict:
        if not isinstance(data, dict):
            raise serializers.ValidationError({editor.NON_FIELD: ["expected a JSON object"]})
        row = self.instance[2] if self.instance else None
        definition = dict(row.definition) if (row is not None and self.partial) else {}
        definition.update({key: value for key, value in data.items() if key not in READ_ONLY})
        try:
            editor.validate_pack(definition, self.context["request"].user.organization_id, row)
        except editor.ValidationFailed as exc:
            raise serializers.ValidationError(exc.errors) from None
        return {"definition": definition}


def pack_item(pack: Pack, editable: bool, row: Any = None) -> tuple:
    return (pack, editable, row)


class ScorecardSerializer(serializers.ModelSerializer):
    cloud_name = serializers.CharField(source="cloud.name", read_only=True)

    class Meta:
        model = Scorecard
        fields = [
            "id",
            "cloud",
            "cloud_name",
            "pack_id",
            "computed_at",
            "score",
            "passed",
            "failed",
            "exempted",
            "controls",
        ]
