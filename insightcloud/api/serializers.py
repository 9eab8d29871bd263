from __future__ import annotations

from rest_framework import serializers

from insightcloud.accounts.models import ApiKey, AuditEvent
from insightcloud.inventory.models import CloudAccount, Resource, ResourceChange, ResourceGroup
from scheduler.models import Job


class CloudSerializer(serializers.ModelSerializer):
    organization = serializers.SlugRelatedField(slug_field="slug", read_only=True)

    class Meta:
        model = CloudAccount
        # Never the credentials: they stay encrypted in the database.
        fields = [
            "id",
            "organization",
            "provider",
            "name",
            "account_id",
            "auth_type",
            "regions",
            "status",
            "status_detail",
            "created_at",
            "last_harvest_at",
        ]


class HarvestRequestSerializer(serializers.Serializer):
    regions = serializers.ListField(child=serializers.CharField(max_length=64), required=False, allow_null=True)
    types = serializers.ListField(child=serializers.CharField(max_length=128), required=False, allow_null=True)


class ActionRequestSerializer(serializers.Serializer):
    action = serializers.CharField(max_length=100)
    dry_run = serializers.BooleanField(default=False)
    params = serializers.DictField(child=serializers.CharField(max_length=500), required=False)


class ActionSpecSerializer(serializers.Serializer):
    """An action that applies to a resource; ``parameters`` must be sent in ``params``."""

    name = serializers.CharField()
    description = serializers.CharField()
    parameters = serializers.ListField(child=serializers.CharField())
    permissions = serializers.ListField(child=serializers.CharField(), help_text="cloud permissions it needs")
    applies_when = serializers.CharField(source="applies_to.summary")


class ResourceGroupSerializer(serializers.ModelSerializer):
    organization = serializers.SlugField(
        source="organization.slug", required=False, help_text="default: your own organization"
    )
    member_count = serializers.IntegerField(read_only=True, help_text="live members you can see")

    class Meta:
        model = ResourceGroup
        fields = ["id", "organization", "name", "description", "member_count", "created_at"]
        read_only_fields = ["created_at"]
        # Uniqueness per organization is checked when creating, with a clear message.
        validators = []

    def validate(self, attrs: dict) -> dict:
        if "organization" in attrs:
            attrs["organization"] = attrs["organization"]["slug"]
        return attrs


class GroupMembersSerializer(serializers.Serializer):
    resources = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=2**63 - 1), min_length=1, max_length=1000
    )


class GroupChangeSerializer(serializers.Serializer):
    changed = serializers.IntegerField(help_text="how many resources were added or removed")
    group = ResourceGroupSerializer()


class ResourceSerializer(serializers.ModelSerializer):
    resource_id = serializers.CharField(source="native_id")
    cloud_name = serializers.CharField(source="cloud.name")
    account_id = serializers.CharField(source="cloud.account_id")

    class Meta:
        model = Resource
        fields = [
            "id",
            "resource_id",
            "name",
            "resource_type",
            "native_type",
            "provider",
            "cloud",
            "cloud_name",
            "account_id",
            "region",
            "tags",
            "properties",
            "first_seen",
            "last_seen",
            "deleted_at",
        ]

    def to_representation(self, resource: Resource) -> dict:
        # Built directly: DRF's per-field machinery costs more than the query when walking millions.
        cloud = resource.cloud
        return {
            "id": resource.pk,
            "resource_id": resource.native_id,
            "name": resource.name,
            "resource_type": resource.resource_type,
            "native_type": resource.native_type,
            "provider": resource.provider,
            "cloud": resource.cloud_id,
            "cloud_name": cloud.name,
            "account_id": cloud.account_id,
            "region": resource.region,
            "tags": resource.tags,
            "properties": resource.properties,
            "first_seen": _iso(resource.first_seen),
            "last_seen": _iso(resource.last_seen),
            "deleted_at": _iso(resource.deleted_at),
        }


def _iso(value) -> str | None:  # noqa: ANN001
    return value.isoformat().replace("+00:00", "Z") if value else None


class ResourceChangeSerializer(serializers.ModelSerializer):
    class Meta:
        model = ResourceChange
        fields = ["id", "change_type", "diff", "job", "created_at"]


class ResourceDetailSerializer(ResourceSerializer):
    history = serializers.SerializerMethodField()

    class Meta(ResourceSerializer.Meta):
        fields = [*ResourceSerializer.Meta.fields, "raw", "history"]

    def get_history(self, resource: Resource) -> list[dict]:
        return ResourceChangeSerializer(resource.changes.order_by("-created_at")[:100], many=True).data

    def to_representation(self, resource: Resource) -> dict:
        data = super().to_representation(resource)
        data["raw"] = resource.raw
        data["history"] = self.get_history(resource)
        return data


class JobSerializer(serializers.ModelSerializer):
    class Meta:
        model = Job
        fields = [
            "id",
            "kind",
            "priority",
            "arguments",
            "status",
            "cloud",
            "requested_by",
            "enqueued_at",
            "started_at",
            "finished_at",
            "attempts",
            "error",
            "result",
        ]


class AuditEventSerializer(serializers.ModelSerializer):
    class Meta:
        model = AuditEvent
        fields = ["id", "actor_name", "action", "target", "details", "source_address", "created_at"]


class ApiKeySerializer(serializers.ModelSerializer):
    class Meta:
        model = ApiKey
        fields = ["id", "name", "prefix", "created_at", "last_used_at", "revoked_at"]
        read_only_fields = ["prefix", "created_at", "last_used_at", "revoked_at"]
