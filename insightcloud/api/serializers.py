from __future__ import annotations

from rest_framework import serializers

from insightcloud.accounts.models import ApiKey, AuditEvent
from insightcloud.accounts.permissions import ENQUEUEABLE_JOB_KINDS, clouds_visible_to
from insightcloud.inventory.models import CloudAccount, Resource, ResourceChange, ResourceGroup
from scheduler.models import Job


class CloudSerializer(serializers.ModelSerializer):
    organization = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    disabled_regions = serializers.SerializerMethodField(help_text="regions the scheduler skips")

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
            "disabled_regions",
            "status",
            "status_detail",
            "created_at",
            "last_harvest_at",
        ]

    def get_disabled_regions(self, cloud: CloudAccount) -> list[str]:
        from scheduler.planner import strategy_of

        strategy = strategy_of(cloud)
        return list(strategy.disabled_regions) if strategy else []


class CloudUpdateSerializer(serializers.Serializer):
    """PATCH /clouds/<id>/: switch regions off and on (the onboarding checked which exist)."""

    disabled_regions = serializers.ListField(child=serializers.CharField(max_length=64), required=False)


class HarvestTypeSerializer(serializers.Serializer):
    native_type = serializers.CharField()
    resource_type = serializers.CharField()
    default_minutes = serializers.IntegerField()
    minutes = serializers.IntegerField(help_text="the interval in force: the override, else the default")
    last_harvest_at = serializers.DateTimeField(allow_null=True)
    next_due_at = serializers.DateTimeField(allow_null=True)
    last_count = serializers.IntegerField(allow_null=True)
    permissions = serializers.ListField(child=serializers.CharField())


class HarvestStrategySerializer(serializers.Serializer):
    """A cloud's harvest strategy; PATCH any of intervals (replaces every override), disabled_regions, dynamic."""

    intervals = serializers.DictField(
        child=serializers.IntegerField(allow_null=True),
        required=False,
        help_text="minutes per native or normalized type; null or absent: the type's default",
    )
    disabled_regions = serializers.ListField(child=serializers.CharField(max_length=64), required=False)
    dynamic = serializers.BooleanField(required=False)
    types = HarvestTypeSerializer(many=True, read_only=True)


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
    user = serializers.CharField(source="user.username", read_only=True)

    class Meta:
        model = ApiKey
        fields = ["id", "name", "user", "prefix", "created_at", "last_used_at", "revoked_at"]
        read_only_fields = ["prefix", "created_at", "last_used_at", "revoked_at"]


class EnqueueRequestSerializer(serializers.Serializer):
    """What "enqueue now" asks for; the cloud must be one you see (managing it is checked when enqueueing)."""

    kind = serializers.ChoiceField(choices=list(ENQUEUEABLE_JOB_KINDS.items()))
    cloud = serializers.PrimaryKeyRelatedField(queryset=CloudAccount.objects.none())
    full = serializers.BooleanField(default=False, help_text="evaluate: every resource, not only the changed ones")
    regions = serializers.ListField(child=serializers.CharField(max_length=64), required=False, allow_null=True)
    types = serializers.ListField(child=serializers.CharField(max_length=128), required=False, allow_null=True)

    def get_fields(self) -> dict:
        fields = super().get_fields()
        request = self.context.get("request")
        if request is not None and request.user.is_authenticated:
            fields["cloud"].queryset = clouds_visible_to(request.user)
        return fields


def onboarding_serializer(provider: str) -> type[serializers.Serializer]:
    """The request body of POST /clouds/ for one provider, described from its onboarding form (one definition)."""
    from django import forms

    from insightcloud.inventory.onboarding import FORMS, SecretInput, SecretTextarea

    form = FORMS[provider]
    # A plain string: the discriminator mapping of the NewCloud schema names the providers.
    fields: dict[str, serializers.Field] = {"provider": serializers.CharField(help_text=f'"{provider}"')}
    for name, field in form.base_fields.items():
        options = {"required": field.required, "help_text": str(field.help_text or "") or None}
        if isinstance(field, forms.FileField):
            continue  # the GUI's upload; the API takes the key's text
        if isinstance(field, forms.ModelChoiceField):
            fields[name] = serializers.SlugField(required=False, help_text="organization slug (default: yours)")
        elif isinstance(field, forms.ChoiceField):
            fields[name] = serializers.ChoiceField(choices=list(field.choices), **options)
        elif isinstance(field.widget, SecretInput | SecretTextarea):
            fields[name] = serializers.CharField(write_only=True, **options)
        elif isinstance(field, forms.URLField):
            fields[name] = serializers.URLField(**options)
        else:
            fields[name] = serializers.CharField(**options)
    return type(f"New{provider.capitalize()}Cloud", (serializers.Serializer,), fields)


class NewCloudsSerializer(serializers.Serializer):
    clouds = CloudSerializer(many=True)
