"""REST API v1: thin viewsets over the same querysets and FilterSet as the GUI."""

from __future__ import annotations

import json

from django.core.exceptions import PermissionDenied
from django.core.serializers.json import DjangoJSONEncoder
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import mixins, permissions, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.views import APIView

from insightcloud.accounts import audit
from insightcloud.accounts.api_keys import create_api_key, revoke_api_key
from insightcloud.accounts.models import ApiKey
from insightcloud.accounts.permissions import (
    audit_events_visible_to,
    can_cancel_job,
    can_manage_resource,
    clouds_visible_to,
    jobs_visible_to,
    organizations_visible_to,
    resources_visible_to,
    sees_whole_domain,
)
from insightcloud.api import serializers as s
from insightcloud.api.pagination import ResourceCursor
from insightcloud.inventory import operations
from insightcloud.inventory.filtersets import ResourceFilterSet
from insightcloud.inventory.models import cloud_names


class CloudViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = s.CloudSerializer

    def get_queryset(self):  # noqa: ANN201
        return clouds_visible_to(self.request.user).select_related("organization").order_by("name")

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


class JobViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = s.JobSerializer

    def get_queryset(self):  # noqa: ANN201
        return jobs_visible_to(self.request.user).order_by("-enqueued_at")

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


class IsDomainAdmin(permissions.BasePermission):
    def has_permission(self, request, view) -> bool:  # noqa: ANN001
        user = request.user
        return bool(user and user.is_authenticated and (user.is_superuser or user.access_level == "domain_admin"))


class AuditEventViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = s.AuditEventSerializer

    def get_queryset(self):  # noqa: ANN201
        return audit_events_visible_to(self.request.user)


class ApiKeyViewSet(mixins.ListModelMixin, mixins.CreateModelMixin, viewsets.GenericViewSet):
    """Your own API keys. The key itself is in the creation response only."""

    serializer_class = s.ApiKeySerializer

    def get_queryset(self):  # noqa: ANN201
        return ApiKey.objects.filter(user=self.request.user).order_by("-created_at")

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
        if revoke_api_key(key):
            audit.record("api_key.revoke", request=request, target=key)
        return Response(s.ApiKeySerializer(key).data)
