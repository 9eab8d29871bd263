"""Insights (built-in + your organization's custom ones, CRUD for custom), packs and scorecards.

Built-in insights and packs are read-only (403 on a write); another organization's custom ones do
not exist for you (404). Writes need the "edit insights" right and go through ``compliance.editor``,
which validates, audits and queues the re-evaluation, exactly as the GUI does.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.db.models import Count
from django.http import Http404
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import JSONParser
from rest_framework.response import Response

from compliance import editor
from compliance.library import builtin_insights, builtin_packs, packs_for
from compliance.models import FindingStatus, Scorecard
from compliance.schema import CLOUDS, SEVERITIES
from insightcloud.accounts.permissions import (
    can_edit_insights,
    custom_insights_visible_to,
    custom_packs_visible_to,
    findings_visible_to,
    pack_results_visible_to,
)
from insightcloud.api.compliance_serializers import (
    InsightSerializer,
    PackSerializer,
    ScorecardSerializer,
    insight_item,
    pack_item,
)

ID_PARAMETER = OpenApiParameter("id", str, OpenApiParameter.PATH, description="insight or pack id")
INSIGHT_FILTERS = [
    OpenApiParameter("severity", str, enum=list(SEVERITIES)),
    OpenApiParameter("cloud", str, enum=list(CLOUDS), description="insights that apply to this cloud"),
    OpenApiParameter("source", str, enum=["builtin", "custom"]),
]


def _require_editor(user) -> None:  # noqa: ANN001
    if not can_edit_insights(user):
        raise PermissionDenied("you may view insights but not edit them")


class _CatalogViewSet(viewsets.GenericViewSet):
    """A viewset over the in-memory catalog (not a queryset): ids are insight or pack ids."""

    lookup_value_regex = r"[^/]+"
    filter_backends: list = []
    parser_classes = [JSONParser]  # definitions are nested: JSON only

    def _written(self, instance, data: dict, *, partial: bool = False):  # noqa: ANN001, ANN202
        serializer = self.get_serializer(instance, data=data, partial=partial)
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data


@extend_schema_view(
    list=extend_schema(parameters=INSIGHT_FILTERS),
    retrieve=extend_schema(parameters=[ID_PARAMETER]),
    update=extend_schema(parameters=[ID_PARAMETER]),
    partial_update=extend_schema(parameters=[ID_PARAMETER]),
    destroy=extend_schema(parameters=[ID_PARAMETER]),
)
class InsightViewSet(_CatalogViewSet):
    """Built-in insights (read-only) and your organization's custom ones (create, update, delete with the
    "edit insights" right). An invalid definition answers 400 with the offending fields by path."""

    serializer_class = InsightSerializer

    def _failing(self, insight_id: str | None = None) -> dict[str, int]:
        findings = findings_visible_to(self.request.user).filter(status=FindingStatus.OPEN)
        if insight_id is not None:
            findings = findings.filter(insight_id=insight_id)
        return dict(findings.values_list("insight_id").annotate(n=Count("id")).order_by())

    def _items(self, insight_id: str | None = None) -> list[tuple]:
        """Built-ins, then the organization's custom insights (disabled ones too: they can be re-enabled)."""
        user = self.request.user
        editable = can_edit_insights(user)
        failing = self._failing(insight_id)
        builtins = builtin_insights()
        chosen = [builtins[insight_id]] if insight_id in builtins else [] if insight_id else list(builtins.values())
        items = [insight_item(i, None, failing.get(i.id, 0), False) for i in sorted(chosen, key=lambda i: i.id)]
        rows = custom_insights_visible_to(user).order_by("insight_id")
        if insight_id is not None:
            rows = rows.filter(insight_id=insight_id)
        items += [insight_item(row.parse(), row, failing.get(row.insight_id, 0), editable) for row in rows]
        return items

    def _custom(self, insight_id: str):  # noqa: ANN202
        row = custom_insights_visible_to(self.request.user).filter(insight_id=insight_id).first()
        if row is None:
            if insight_id in builtin_insights():
                raise PermissionDenied("built-in insights are read-only; copy it into a custom insight instead")
            raise Http404
        _require_editor(self.request.user)
        return row

    def list(self, request):  # noqa: ANN001, ANN201
        items = self._items()
        if severity := request.query_params.get("severity"):
            items = [item for item in items if item[0].severity == severity]
        if cloud := request.query_params.get("cloud"):
            items = [item for item in items if cloud in item[0].clouds]
        if source := request.query_params.get("source"):
            items = [item for item in items if (item[0].source == "custom") == (source == "custom")]
        page = self.paginate_queryset(items)
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    def get_object(self) -> tuple:
        items = self._items(self.kwargs["pk"])
        if not items:
            raise Http404
        return items[0]

    def retrieve(self, request, pk: str):  # noqa: ANN001, ANN201
        return Response(self.get_serializer(self.get_object()).data)

    @extend_schema(responses={201: InsightSerializer})
    def create(self, request):  # noqa: ANN001, ANN201
        _require_editor(request.user)
        data = self._written(None, request.data)
        row = self._save(data, None)
        return Response(self.get_serializer(self._items(row.insight_id)[0]).data, status=status.HTTP_201_CREATED)

    def update(self, request, pk: str, partial: bool = False):  # noqa: ANN001, ANN201
        row = self._custom(pk)
        data = self._written(insight_item(row.parse(), row, 0, True), request.data, partial=partial)
        row = self._save(data, row)
        return Response(self.get_serializer(self._items(row.insight_id)[0]).data)

    def partial_update(self, request, pk: str):  # noqa: ANN001, ANN201
        return self.update(request, pk, partial=True)

    def destroy(self, request, pk: str):  # noqa: ANN001, ANN201
        row = self._custom(pk)
        try:
            editor.delete_custom_insight(request.user, row, request=request)
        except editor.ValidationFailed as exc:
            raise serializers.ValidationError(exc.errors) from None
        return Response(status=status.HTTP_204_NO_CONTENT)

    def _save(self, data: dict, current):  # noqa: ANN001, ANN202
        try:
            return editor.save_custom_insight(
                self.request.user, data["definition"], current=current, enabled=data["enabled"], request=self.request
            )
        except editor.ValidationFailed as exc:  # e.g. the same id saved meanwhile
            raise serializers.ValidationError(exc.errors) from None


@extend_schema_view(
    retrieve=extend_schema(parameters=[ID_PARAMETER]),
    update=extend_schema(parameters=[ID_PARAMETER]),
    partial_update=extend_schema(parameters=[ID_PARAMETER]),
    destroy=extend_schema(parameters=[ID_PARAMETER]),
    scorecards=extend_schema(parameters=[ID_PARAMETER], responses=ScorecardSerializer(many=True)),
)
class PackViewSet(_CatalogViewSet):
    """Built-in packs (read-only) and your organization's custom packs: controls mapped to insights."""

    serializer_class = PackSerializer

    def _items(self) -> list[tuple]:
        user = self.request.user
        editable = can_edit_insights(user)
        rows = {row.pack_id: row for row in custom_packs_visible_to(user)}
        packs = packs_for(user.organization_id)
        return [
            pack_item(pack, editable and pack.id in rows, rows.get(pack.id))
            for pack in sorted(packs.values(), key=lambda p: (p.source == "custom", p.id))
        ]

    def _item(self, pack_id: str) -> tuple:
        for item in self._items():
            if item[0].id == pack_id:
                return item
        raise Http404

    def get_object(self) -> tuple:
        return self._item(self.kwargs["pk"])

    def _custom(self, pack_id: str):  # noqa: ANN202
        row = custom_packs_visible_to(self.request.user).filter(pack_id=pack_id).first()
        if row is None:
            if pack_id in builtin_packs():
                raise PermissionDenied("built-in packs are read-only")
            raise Http404
        _require_editor(self.request.user)
        return row

    def list(self, request):  # noqa: ANN001, ANN201
        page = self.paginate_queryset(self._items())
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    def retrieve(self, request, pk: str):  # noqa: ANN001, ANN201
        return Response(self.get_serializer(self._item(pk)).data)

    @extend_schema(responses={201: PackSerializer})
    def create(self, request):  # noqa: ANN001, ANN201
        _require_editor(request.user)
        data = self._written(None, request.data)
        row = self._save(data, None)
        return Response(self.get_serializer(self._item(row.pack_id)).data, status=status.HTTP_201_CREATED)

    def update(self, request, pk: str, partial: bool = False):  # noqa: ANN001, ANN201
        row = self._custom(pk)
        data = self._written(pack_item(row.parse(), True, row), request.data, partial=partial)
        row = self._save(data, row)
        return Response(self.get_serializer(self._item(row.pack_id)).data)

    def partial_update(self, request, pk: str):  # noqa: ANN001, ANN201
        return self.update(request, pk, partial=True)

    def destroy(self, request, pk: str):  # noqa: ANN001, ANN201
        editor.delete_custom_pack(request.user, self._custom(pk), request=request)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @action(detail=True, methods=["get"])
    def scorecards(self, request, pk: str):  # noqa: ANN001, ANN201
        """This pack's scorecard on each cloud you see."""
        pack = self._item(pk)[0]
        cards = pack_results_visible_to(request.user, Scorecard, {pack.id: pack})
        cards = cards.select_related("cloud").order_by("cloud__name")
        return Response(ScorecardSerializer(cards, many=True).data)

    def _save(self, data: dict, current):  # noqa: ANN001, ANN202
        try:
            return editor.save_custom_pack(self.request.user, data["definition"], current=current, request=self.request)
        except editor.ValidationFailed as exc:
            raise serializers.ValidationError(exc.errors) from None


class ScorecardViewSet(viewsets.ReadOnlyModelViewSet):
    """Pack scorecards per cloud: score and, per control, passed / failed / exempted resources."""

    serializer_class = ScorecardSerializer
    queryset = Scorecard.objects.none()  # for the schema's filter parameters; requests use get_queryset
    filterset_fields = ["pack_id", "cloud"]

    def get_queryset(self):  # noqa: ANN201
        # Scorecards of the packs you have: a custom pack's only on its own organization's clouds.
        packs = packs_for(self.request.user.organization_id)
        return (
            pack_results_visible_to(self.request.user, Scorecard, packs)
            .select_related("cloud")
            .order_by("pack_id", "cloud__name")
        )
