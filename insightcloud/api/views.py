"""REST API v1: thin viewsets over the same querysets and FilterSet as the GUI."""

from __future__ import annotations

import json

from django.core.exceptions import PermissionDenied
from django.core.serializers.json import DjangoJSONEncoder
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, PolymorphicProxySerializer, extend_schema, inline_serializer
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.views import APIView

from insightcloud.accounts import administration, audit
from insightcloud.accounts.api_keys import create_api_key
from insightcloud.accounts.filtersets import AuditEventFilterSet, export_events
from insightcloud.accounts.permissions import (
    api_keys_visible_to,
    audit_events_visible_to,
    can_add_clouds,
    can_cancel_job,
    can_manage_cloud,
    can_manage_resource,
    can_revoke_api_key,
    clouds_visible_to,
    jobs_visible_to,
    organizations_visible_to,
    resources_visible_to,
    sees_whole_domain,
)
from insightcloud.api import serializers as s
from insightcloud.api.pagination import ResourceCursor
from insightcloud.exports import FORMATS
from insightcloud.inventory import operations
from insightcloud.inventory.filtersets import ResourceFilterSet
from insightcloud.inventory.models import cloud_names


def _strategy_errors(exc) -> serializers.ValidationError:  # noqa: ANN001  (a scheduler.strategy.StrategyError)
    return serializers.ValidationError(exc.fields)


class CloudViewSet(mixins.CreateModelMixin, mixins.UpdateModelMixin, viewsets.ReadOnlyModelViewSet):
    serializer_class = s.CloudSerializer
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self):  # noqa: ANN201
        return clouds_visible_to(self.request.user).select_related("organization", "harvest_strategy").order_by("name")

    @extend_schema(
        request=PolymorphicProxySerializer(
            component_name="NewCloud",
            serializers={
                provider: s.onboarding_serializer(provider) for provider in ("aws", "azure", "gcp", "alibaba")
            },
            resource_type_field_name="provider",
        ),
        responses={201: s.NewCloudsSerializer},
    )
    def create(self, request, *args, **kwargs):  # noqa: ANN001, ANN201
        """Onboard a cloud: the credentials are checked with the provider first; nothing is saved on a refusal.

        Azure and GCP may create several clouds (one per subscription or project). Secrets are write-only."""
        from insightcloud.inventory.onboarding import FORMS, OnboardingRefused, add_clouds

        if not can_add_clouds(request.user):
            raise PermissionDenied("you may not add clouds")
        data = request.data if isinstance(request.data, dict) else {}
        form_class = FORMS.get(data.get("provider"))
        if form_class is None:
            raise serializers.ValidationError({"provider": [f"one of {', '.join(FORMS)}"]})
        form = form_class(_form_data(data), user=request.user)
        if not form.is_valid():
            raise serializers.ValidationError(
                {("non_field_errors" if name == "__all__" else name): errors for name, errors in form.errors.items()}
            )
        try:
            clouds = add_clouds(request.user, form, request)
        except OnboardingRefused as exc:
            raise serializers.ValidationError({"non_field_errors": [str(exc)]}) from None
        body = {"clouds": s.CloudSerializer(clouds, many=True).data}
        return Response(body, status=status.HTTP_201_CREATED)

    @extend_schema(request=s.CloudUpdateSerializer, responses=s.CloudSerializer)
    def partial_update(self, request, *args, **kwargs):  # noqa: ANN001, ANN201
        """Switch regions off (``disabled_regions``) or back on; the scheduler skips disabled ones."""
        from scheduler.strategy import StrategyError

        cloud = self.get_object()
        if not can_manage_cloud(request.user, cloud):
            raise PermissionDenied("you may view this cloud but not manage it")
        body = s.CloudUpdateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        if "disabled_regions" in body.validated_data:
            try:
                operations.update_harvest_strategy(
                    request.user, cloud, request, disabled_regions=body.validated_data["disabled_regions"]
                )
            except StrategyError as exc:
                raise _strategy_errors(exc) from None
        return Response(s.CloudSerializer(self.get_queryset().get(pk=cloud.pk)).data)

    @extend_schema(methods=["GET"], request=None, responses=s.HarvestStrategySerializer)
    @extend_schema(methods=["PATCH"], request=s.HarvestStrategySerializer, responses=s.HarvestStrategySerializer)
    @action(detail=True, methods=["get", "patch"], url_path="harvest-strategy")
    def harvest_strategy(self, request, pk=None):  # noqa: ANN001, ANN201
        """Intervals per type (overrides of the type defaults), disabled regions, dynamic scheduling."""
        from scheduler import planner, strategy

        cloud = self.get_object()
        if request.method == "PATCH":
            body = s.HarvestStrategySerializer(data=request.data)
            body.is_valid(raise_exception=True)
            try:
                operations.update_harvest_strategy(request.user, cloud, request, **body.validated_data)
            except strategy.StrategyError as exc:
                raise _strategy_errors(exc) from None
            cloud = self.get_queryset().get(pk=cloud.pk)
        current = planner.strategy_of(cloud)
        return Response(
            {
                "intervals": dict(current.intervals) if current else {},
                "disabled_regions": list(current.disabled_regions) if current else [],
                "dynamic": current.dynamic if current else True,
                "types": s.HarvestTypeSerializer(strategy.overview(cloud), many=True).data,
            }
        )

    @extend_schema(request=s.HarvestRequestSerializer, responses={202: s.JobSerializer})
    @action(detail=True, methods=["post"])
    def harvest(self, request, pk=None):  # noqa: ANN001, ANN201
        """Enqueue an immediate (p0) harvest of this cloud, optionally of some regions or types."""
        options = s.HarvestRequestSerializer(data=request.data)
        options.is_valid(raise_exception=True)
        job, _ = operations.harvest_now(request.user, self.get_object(), request, **options.validated_data)
        return Response(s.JobSerializer(job).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(request=None, responses=s.CloudSerializer)
    @action(detail=True, methods=["post"])
    def pause(self, request, pk=None):  # noqa: ANN001, ANN201
        return Response(s.CloudSerializer(operations.set_paused(request.user, self.get_object(), True, request)).data)

    @extend_schema(request=None, responses=s.CloudSerializer)
    @action(detail=True, methods=["post"])
    def resume(self, request, pk=None):  # noqa: ANN001, ANN201
        return Response(s.CloudSerializer(operations.set_paused(request.user, self.get_object(), False, request)).data)


def _form_data(data: dict) -> dict:
    """JSON bodies as a form sees them: lists of regions joined, a GCP key given as an object dumped."""
    values = {}
    for name, value in data.items():
        if name == "regions" and isinstance(value, list):
            value = ",".join(str(item) for item in value)
        elif name == "key_json" and isinstance(value, dict):
            value = json.dumps(value)
        values[name] = value
    return values


class ResourceViewSet(viewsets.ReadOnlyModelViewSet):
    filterset_class = ResourceFilterSet
    pagination_class = ResourceCursor

    def get_queryset(self):  # noqa: ANN201
        queryset = resources_visible_to(self.request.user)
        if self.action == "list":
            # The list never shows the raw record; clouds come in one query per page, not a join.
            return queryset.defer("raw").prefetch_related(cloud_names())
        return queryset.select_related("cloud")

    def get_serializer_class(self):  # noqa: ANN201
        return s.ResourceDetailSerializer if self.action == "retrieve" else s.ResourceSerializer

    @extend_schema(methods=["GET"], request=None, responses=s.ActionSpecSerializer(many=True))
    @extend_schema(methods=["POST"], request=s.ActionRequestSerializer, responses={202: s.JobSerializer})
    @action(detail=True, methods=["get", "post"], url_path="actions")
    def run_action(self, request, pk=None):  # noqa: ANN001, ANN201
        """GET: the actions that apply to this resource as last harvested. POST: enqueue one as a
        p0 job (stop an instance, block public access …); one that does not apply is refused."""
        from scheduler.actions import actions_for, request_action

        resource = self.get_object()
        if request.method == "GET":
            return Response(s.ActionSpecSerializer(actions_for(resource), many=True).data)
        if not can_manage_resource(request.user, resource):
            raise PermissionDenied("you may view this resource but not act on it")
        body = s.ActionRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            job, _ = request_action(
                body.validated_data["action"],
                resource.pk,
                dry_run=body.validated_data["dry_run"],
                params=body.validated_data.get("params") or {},
                requested_by=request.user.username,
            )
        except ValueError as exc:
            raise serializers.ValidationError({"action": [str(exc)]}) from None
        name = body.validated_data["action"]
        audit.record("resource.action", request=request, target=resource, action_name=name, job=job.pk)
        return Response(s.JobSerializer(job).data, status=status.HTTP_202_ACCEPTED)


class ResourceGroupViewSet(mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    """Resource groups of your organization (every organization's for domain-wide users), with the
    number of their members you can see. Create one, add or remove resources (ids from /resources/)."""

    serializer_class = s.ResourceGroupSerializer

    def get_queryset(self):  # noqa: ANN201
        from insightcloud.inventory.groups import groups_with_member_counts

        return groups_with_member_counts(self.request.user)

    def create(self, request, *args, **kwargs):  # noqa: ANN001, ANN201
        from insightcloud.inventory.groups import GroupError, create_group

        body = self.get_serializer(data=request.data)
        body.is_valid(raise_exception=True)
        slug = body.validated_data.get("organization")
        organization = request.user.organization
        if slug:
            organization = organizations_visible_to(request.user).filter(slug=slug).first()
            if organization is None:
                raise serializers.ValidationError({"organization": [f"no organization {slug!r}"]})
        if organization is None:
            raise serializers.ValidationError({"organization": ["you belong to no organization; name one"]})
        try:
            data = body.validated_data
            group = create_group(request.user, organization, data["name"], data.get("description", ""), request)
        except GroupError as exc:
            raise serializers.ValidationError({"name": [str(exc)]}) from None
        group = self.get_queryset().get(pk=group.pk)
        return Response(s.ResourceGroupSerializer(group).data, status=status.HTTP_201_CREATED)

    def _change(self, request, change):  # noqa: ANN001, ANN202
        from insightcloud.inventory.groups import GroupError, visible_resources

        group = self.get_object()
        body = s.GroupMembersSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            resources = visible_resources(request.user, body.validated_data["resources"])
            count = change(request.user, group, resources, request)
        except GroupError as exc:
            raise serializers.ValidationError({"resources": [str(exc)]}) from None
        group = self.get_queryset().get(pk=group.pk)  # with its new member count
        return Response({"changed": count, "group": s.ResourceGroupSerializer(group).data})

    @extend_schema(request=s.GroupMembersSerializer, responses=s.GroupChangeSerializer)
    @action(detail=True, methods=["post"])
    def add(self, request, pk=None):  # noqa: ANN001, ANN201
        """Add resources (all or none; another organization's ids answer 404)."""
        from insightcloud.inventory.groups import add_resources

        return self._change(request, add_resources)

    @extend_schema(request=s.GroupMembersSerializer, responses=s.GroupChangeSerializer)
    @action(detail=True, methods=["post"])
    def remove(self, request, pk=None):  # noqa: ANN001, ANN201
        """Remove resources from the group (they stay in the inventory)."""
        from insightcloud.inventory.groups import remove_resources

        return self._change(request, remove_resources)


class JobViewSet(mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    serializer_class = s.JobSerializer

    def get_queryset(self):  # noqa: ANN201
        return jobs_visible_to(self.request.user).order_by("-enqueued_at")

    @extend_schema(request=s.EnqueueRequestSerializer, responses={202: s.JobSerializer})
    def create(self, request, *args, **kwargs):  # noqa: ANN001, ANN201
        """Enqueue now (p0): a harvest or a compliance evaluation of a cloud you manage."""
        body = s.EnqueueRequestSerializer(data=request.data, context={"request": request})
        body.is_valid(raise_exception=True)
        options = dict(body.validated_data)
        job, _ = operations.enqueue_now(request.user, options.pop("kind"), options.pop("cloud"), request, **options)
        return Response(s.JobSerializer(job).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(request=None, responses=s.JobSerializer)
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):  # noqa: ANN001, ANN201
        """Cancel a queued job at once, or a running one at its next check (it keeps what it wrote)."""
        from scheduler.runner import cancel

        job = self.get_object()
        if not can_cancel_job(request.user, job):
            raise PermissionDenied("you may view this job but not cancel it")
        outcome = cancel(job.pk, by=request.user.username)
        audit.record("job.cancel", request=request, target=job, outcome=outcome)
        job.refresh_from_db()
        return Response(s.JobSerializer(job).data)


class QueueView(APIView):
    """Queue depths, wait and processing times over the last hour, running jobs, workers, scheduler."""

    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request):  # noqa: ANN001, ANN201
        from scheduler.diagnostics import queue_report

        if not sees_whole_domain(request.user):
            raise PermissionDenied("queue diagnostics are for domain administrators and viewers")
        return Response(json.loads(json.dumps(queue_report(), cls=DjangoJSONEncoder)))


class AuditEventViewSet(viewsets.ReadOnlyModelViewSet):
    """The audit log you may see, filtered by who, what and time range (like the Audit page)."""

    serializer_class = s.AuditEventSerializer
    filterset_class = AuditEventFilterSet

    def get_queryset(self):  # noqa: ANN201
        return audit_events_visible_to(self.request.user)

    @extend_schema(
        parameters=[OpenApiParameter("export", str, enum=list(FORMATS), description="file format (default csv)")],
        responses={(200, "text/csv"): OpenApiTypes.STR, (200, "application/json"): OpenApiTypes.ANY},
    )
    @action(detail=False, methods=["get"], pagination_class=None)
    def export(self, request):  # noqa: ANN001, ANN201
        """Every matching event as a CSV or JSON download (the list's filters apply)."""
        fmt = request.query_params.get("export") or "csv"
        if fmt not in FORMATS:
            raise serializers.ValidationError({"export": [f"must be one of {', '.join(FORMATS)}"]})
        return export_events(request, self.filter_queryset(self.get_queryset()), fmt)


class ApiKeyViewSet(mixins.ListModelMixin, mixins.CreateModelMixin, viewsets.GenericViewSet):
    """Your API keys, and for administrators (and domain viewers, read-only) those of the users they
    administer; ``?user=<name>`` narrows to one user. The key itself is in the creation response only."""

    serializer_class = s.ApiKeySerializer

    def get_queryset(self):  # noqa: ANN201
        keys = api_keys_visible_to(self.request.user).select_related("user")
        if username := self.request.query_params.get("user"):
            keys = keys.filter(user__username=username)
        return keys.order_by("-created_at")

    @extend_schema(
        responses=inline_serializer(
            "NewApiKey",
            {"id": serializers.IntegerField(), "name": serializers.CharField(), "key": serializers.CharField()},
        )
    )
    def create(self, request, *args, **kwargs):  # noqa: ANN001, ANN201
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        key, plain = create_api_key(request.user, serializer.validated_data["name"])
        audit.record("api_key.create", request=request, target=key)
        return Response({"id": key.pk, "name": key.name, "prefix": key.prefix, "key": plain}, status.HTTP_201_CREATED)

    @extend_schema(request=None, responses=s.ApiKeySerializer)
    @action(detail=True, methods=["post"])
    def revoke(self, request, pk=None):  # noqa: ANN001, ANN201
        key = self.get_object()
        if not can_revoke_api_key(request.user, key):
            raise PermissionDenied("you may see this key but not revoke it")
        administration.revoke_key(request.user, key, request)
        return Response(s.ApiKeySerializer(key).data)
