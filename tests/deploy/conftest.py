from __future__ import annotations

from tests.fakes.forward_proxy import authenticating_proxy, forward_proxy  # noqa: F401 (fixtures)
from tests.fakes.sentry_endpoint import fake_sentry  # noqa: F401 (fixture)
