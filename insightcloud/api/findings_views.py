"""REST API: findings (filter, cursor pagination, streamed export) and exemptions (create one or in
bulk, revoke). Visibility comes from permissions.py; creating and revoking from compliance/exemptions.py,
the same code the GUI runs."""

from __future__ import annotations

from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import JSONParser
from rest_framework.response import Response

from compliance import exemptions, export
from compliance.filtersets import ExemptionFilterSet, FindingFilterSet
from compliance.library import insights_for
from insightcloud.accounts import audit
from insightcloud.accounts.permissions import exemptions_visible_to, findings_visible_to
from insightcloud.api import findings_serializers as s
from insightcloud.api.pagination import ResourceCursor
from insightcloud.exports import streaming_export

EXPORT_FORMATS = ("csv", "json", "ocsf")


class FindingViewSet(viewsets.ReadOnlyModelViewSet):
    """Findings of the resources you may see: open (failing), exempted, resolved; filter like the export."""

    serializer_class = s.FindingSerializer
    filterset_class = FindingFilterSet
    pagination_class = ResourceCursor  # keyset on the id: a deep page costs what the first one does

    def get_queryset(self):  # noqa: ANN201
        return findings_visible_to(self.request.user).select_related("resource", "cloud", "exemption")

    def get_serializer_context(self) -> dict:
        context = super().get_serializer_context()
        if getattr(self.request, "user", None) is not None and self.request.user.is_authenticated:
            context.update(
                insights=insights_for(self.request.user.organization_id),
                evaluated_at=export.evaluation_times(),
                now=timezone.now(),
            )
        return context

    @extend_schema(
        parameters=[
            OpenApiParameter("export", str, enum=list(EXPORT_FORMATS), description="file format (default csv)")
        ],
        responses={(200, "text/csv"): OpenApiTypes.STR, (200, "application/json"): OpenApiTypes.ANY},
    )
    @action(detail=False, methods=["get"], pagination_class=None)
    def export(self, request):  # noqa: ANN001, ANN201
        """Every matching finding, streamed: CSV, JSON (the list's rows) or OCSF Compliance Finding events."""
        fmt = request.query_params.get("export") or "csv"
        if fmt not in EXPORT_FORMATS:
            raise serializers.ValidationError({"export": [f"must be one of {', '.join(EXPORT_FORMATS)}"]})
        findings = self.filter_queryset(self.get_queryset()).order_by("pk")
        filters = {key: value for key, value in request.query_params.items() if key != "export"}
        audit.record("findings.export", request=request, format=fmt, filters=filters)
        now = timezone.now()
        rows = export.records(findings.iterator(chunk_size=2000), insights_for(request.user.organization_id), now)
        if fmt == "ocsf":
            return streaming_export((export.to_ocsf(row) for row in rows), [], "json", "findings-ocsf")
        if fmt == "csv":
            return streaming_export((export.csv_row(row) for row in rows), list(export.FIELDS), "csv", "findings")
        return streaming_export((export.public(row) for row in rows), list(export.FIELDS), "json", "findings")


class ExemptionViewSet(mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    """Exemptions you may see. Creating and revoking need the right to manage the resources concerned."""

    serializer_class = s.ExemptionSerializer
    filterset_class = ExemptionFilterSet
    # JSON only: a bulk request lists thousands of resources, past what a form body may carry.
    parser_classes = [JSONParser]

    def get_queryset(self):  # noqa: ANN201
        return exemptions_visible_to(self.request.user).select_related("organization", "resource").order_by("-pk")

    @extend_schema(request=s.ExemptionRequestSerializer, responses={201: s.ExemptionOutcomeSerializer})
    def create(self, request, *args, **kwargs):  # noqa: ANN001, ANN201
        """Exempt one finding, or an insight for a list of resources or for every failing resource matching a filter.

        Resources already exempted are skipped (listed in ``already_exempted``); on any error nothing is created.
        """
        body = s.ExemptionRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        options = {"reason": data["reason"], "expires_at": data.get("expires_at"), "request": request}
        try:
            if "finding" in data:
                finding = findings_visible_to(request.user).filter(pk=data["finding"]).first()
                if finding is None:
                    raise exemptions.ExemptionInputError({"finding": [f"finding {data['finding']} does not exist"]})
                outcome = exemptions.exempt_resources(
                    request.user, finding.insight_id, [finding.resource_id], **options
                )
            elif "resources" in data:
                outcome = exemptions.exempt_resources(request.user, data["insight"], data["resources"], **options)
            else:
                outcome = exemptions.exempt_matching(request.user, data["insight"], data["filter"], **options)
        except exemptions.ExemptionInputError as exc:
            raise serializers.ValidationError(exc.fields) from None
        result = {"created": outcome.created, "already_exempted": outcome.already_exempted}
        return Response(s.ExemptionOutcomeSerializer(result).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses=s.ExemptionSerializer)
    @action(detail=True, methods=["post"])
    def revoke(self, request, pk=None):  # noqa: ANN001, ANN201
        """End the exemption now: its findings are kept and count as failing again."""
        try:
            exemption = exemptions.revoke(request.user, self.get_object(), request)
        except exemptions.ExemptionInputError as exc:
            raise serializers.ValidationError(exc.fields) from None
        return Response(s.ExemptionSerializer(exemption).data)
