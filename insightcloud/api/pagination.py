"""Pagination for the API's lists."""

from __future__ import annotations

from django.core.paginator import InvalidPage
from rest_framework.pagination import CursorPagination, PageNumberPagination


class ClampedPageNumberPagination(PageNumberPagination):
    """A page number out of range answers the nearest page instead of a 404."""

    page_size_query_param = "page_size"
    max_page_size = 1000

    def paginate_queryset(self, queryset, request, view=None):  # noqa: ANN001, ANN201
        paginator = self.django_paginator_class(queryset, self.get_page_size(request))
        raw = request.query_params.get(self.page_query_param, "1")
        try:
            number = int(raw)
        except ValueError:
            number = 1
        number = min(max(number, 1), paginator.num_pages)
        try:
            self.page = paginator.page(number)
        except InvalidPage:  # pragma: no cover - clamped above
            self.page = paginator.page(1)
        self.request = request
        return list(self.page)


class ResourceCursor(CursorPagination):
    # Keyset pagination on the primary key: page 5,000 costs what page 1 costs.
    ordering = "id"
    page_size = 100
    page_size_query_param = "page_size"
    max_page_size = 1000
