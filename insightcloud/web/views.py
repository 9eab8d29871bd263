"""Server-rendered pages. The GUI issue fills these in; for now a landing page."""

from __future__ import annotations

from django.shortcuts import render


def home(request):  # noqa: ANN001, ANN201
    return render(request, "web/home.html")
