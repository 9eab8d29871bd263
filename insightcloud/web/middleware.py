"""Every GUI page needs a login; the API, /Status, static files and the first-run page do not
(the API authenticates by session or API key itself)."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.views import redirect_to_login

OPEN_PREFIXES = ("/login", "/setup", "/Status", "/api/", "/static/")


class LoginRequiredMiddleware:
    def __init__(self, get_response):  # noqa: ANN001
        self.get_response = get_response

    def __call__(self, request):  # noqa: ANN001, ANN204
        if not request.user.is_authenticated and not request.path.startswith(OPEN_PREFIXES):
            return redirect_to_login(request.get_full_path(), settings.LOGIN_URL)
        if request.user.is_authenticated and request.user.api_only and not request.path.startswith(OPEN_PREFIXES):
            from django.contrib.auth import logout

            logout(request)
            return redirect_to_login(request.get_full_path(), settings.LOGIN_URL)
        return self.get_response(request)
