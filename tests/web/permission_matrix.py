"""Who gets which status from every API endpoint: the data behind test_permission_matrix.py.

One row per (method, path) of the OpenAPI schema. Paths are written as the schema writes them
(``{pk}`` for the object). ``pk`` names the object that fills ``{pk}`` (see ``OBJECTS`` in the
test: all of them belong to Acme, the owner's organization); ``body`` is the JSON sent (a dict, or
a function of the objects).

Personas:
- ``domain_admin``: sees and manages everything;
- ``owner``: Acme's organization admin (manages all of Acme);
- ``outsider``: Globex's organization admin — the most another organization can be; Acme's
  objects must answer 404 to them, and references to them in a body 400 "does not exist";
- ``viewer``: a domain viewer — reads everything, changes nothing (403);
- ``anonymous``: no session, no key (401).

A new endpoint without a row fails the test, which prints the row to add. Keep each area's rows
together so parallel branches add theirs without touching each other's lines.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

PERSONAS = ("domain_admin", "owner", "outsider", "viewer", "anonymous")
NEW_PASSWORD = "matrix-Passphrase-2031"


def E(*, domain_admin: int, owner: int, outsider: int, viewer: int, anonymous: int = 401) -> dict[str, int]:  # noqa: N802
    """The expected status per persona."""
    return {
        "domain_admin": domain_admin,
        "owner": owner,
        "outsider": outsider,
        "viewer": viewer,
        "anonymous": anonymous,
    }


#: Shorthands for the common shapes.
READ_ALL = E(domain_admin=200, owner=200, outsider=200, viewer=200)  # lists: everyone sees their own part
READ_OBJECT = E(domain_admin=200, owner=200, outsider=404, viewer=200)
CHANGE_OBJECT = E(domain_admin=200, owner=200, outsider=404, viewer=403)
PUBLIC = E(domain_admin=200, owner=200, outsider=200, viewer=200, anonymous=200)


CUSTOM_INSIGHT = {
    "id": "matrix-insight",
    "name": "Matrix insight",
    "description": "A bucket without versioning.",
    "severity": "medium",
    "resource_types": ["storage_container"],
    "clouds": ["aws"],
    "filters": [{"key": "versioning_enabled", "op": "eq", "value": False}],
    "remediation": "Turn versioning on.",
}
CUSTOM_PACK = {
    "id": "matrix-pack",
    "name": "Matrix pack",
    "controls": [{"id": "C1", "title": "Public buckets", "insights": ["storage-container-public"]}],
}


@dataclass(frozen=True)
class Row:
    method: str
    path: str
    expect: dict[str, int]
    pk: str = ""
    body: Any = field(default=None, hash=False)

    @property
    def key(self) -> tuple[str, str]:
        return self.method, self.path


MATRIX: list[Row] = [
    # --- schema and docs: public --------------------------------------------------------------
    Row("GET", "/api/schema/", PUBLIC),
    Row("GET", "/api/docs/", PUBLIC),
    # --- clouds ---------------------------------------------------------------------------------
    Row("GET", "/api/v1/clouds/", READ_ALL),
    Row("GET", "/api/v1/clouds/{pk}/", READ_OBJECT, pk="cloud"),
    Row("POST", "/api/v1/clouds/{pk}/harvest/", E(domain_admin=202, owner=202, outsider=404, viewer=403), pk="cloud"),
    Row("POST", "/api/v1/clouds/{pk}/pause/", CHANGE_OBJECT, pk="cloud"),
    Row("POST", "/api/v1/clouds/{pk}/resume/", CHANGE_OBJECT, pk="cloud"),
    # onboarding: a body refused before any provider is called (the permission is checked first)
    Row(
        "POST",
        "/api/v1/clouds/",
        E(domain_admin=400, owner=400, outsider=400, viewer=403),
        body={"provider": "aws", "name": "matrix", "auth_type": "keys"},
    ),
    Row("PATCH", "/api/v1/clouds/{pk}/", CHANGE_OBJECT, pk="cloud", body={"disabled_regions": []}),
    Row("GET", "/api/v1/clouds/{pk}/harvest-strategy/", READ_OBJECT, pk="cloud"),
    Row("PATCH", "/api/v1/clouds/{pk}/harvest-strategy/", CHANGE_OBJECT, pk="cloud", body={"dynamic": False}),
    # --- resources and actions ------------------------------------------------------------------
    Row("GET", "/api/v1/resources/{pk}/actions/", READ_OBJECT, pk="resource"),
    # --- resource groups: a new group in the asker's own organization; members must be visible ----
    Row("GET", "/api/v1/resource-groups/", READ_ALL),
    Row(
        "POST",
        "/api/v1/resource-groups/",
        E(domain_admin=201, owner=201, outsider=201, viewer=403),
        body={"name": "matrix group"},
    ),
    Row("GET", "/api/v1/resource-groups/{pk}/", READ_OBJECT, pk="resource_group"),
    Row(
        "POST",
        "/api/v1/resource-groups/{pk}/add/",
        CHANGE_OBJECT,
        pk="resource_group",
        body=lambda objects: {"resources": [objects["resource"].pk]},
    ),
    Row(
        "POST",
        "/api/v1/resource-groups/{pk}/remove/",
        CHANGE_OBJECT,
        pk="resource_group",
        body=lambda objects: {"resources": [objects["resource"].pk]},
    ),
    Row("GET", "/api/v1/resources/", READ_ALL),
    Row("GET", "/api/v1/resources/{pk}/", READ_OBJECT, pk="resource"),
    Row(
        "POST",
        "/api/v1/resources/{pk}/actions/",
        E(domain_admin=202, owner=202, outsider=404, viewer=403),
        pk="resource",
        body={"action": "aws.bucket.block_public_access"},
    ),
    # --- findings and exemptions (the exempt right is the manage right over the resources) -------
    Row("GET", "/api/v1/findings/", READ_ALL),
    Row("GET", "/api/v1/findings/export/", READ_ALL),
    Row("GET", "/api/v1/findings/{pk}/", READ_OBJECT, pk="finding"),
    Row("GET", "/api/v1/exemptions/", READ_ALL),
    Row(
        "POST",
        "/api/v1/exemptions/",
        E(domain_admin=201, owner=201, outsider=400, viewer=403),
        body=lambda objects: {
            "insight": "storage-container-public",
            "resources": [objects["resource"].pk],
            "reason": "public website, by design",
        },
    ),
    Row("GET", "/api/v1/exemptions/{pk}/", READ_OBJECT, pk="exemption"),
    Row("POST", "/api/v1/exemptions/{pk}/revoke/", CHANGE_OBJECT, pk="exemption"),
    # --- jobs and queues ------------------------------------------------------------------------
    Row("GET", "/api/v1/jobs/", READ_ALL),
    Row(
        "POST",
        "/api/v1/jobs/",
        E(domain_admin=202, owner=202, outsider=400, viewer=403),
        body=lambda objects: {"kind": "evaluate", "cloud": objects["cloud"].pk},
    ),
    Row("GET", "/api/v1/jobs/{pk}/", READ_OBJECT, pk="job"),
    Row("POST", "/api/v1/jobs/{pk}/cancel/", CHANGE_OBJECT, pk="job"),
    Row("GET", "/api/v1/queues/", E(domain_admin=200, owner=403, outsider=403, viewer=200)),
    # --- audit log ------------------------------------------------------------------------------
    Row("GET", "/api/v1/audit/", READ_ALL),
    Row("GET", "/api/v1/audit/{pk}/", READ_OBJECT, pk="audit_event"),
    Row("GET", "/api/v1/audit/export/", READ_ALL),
    # --- API keys: everyone has their own; administrators revoke their users' -------------------
    Row("GET", "/api/v1/api-keys/", READ_ALL),
    Row("POST", "/api/v1/api-keys/", E(domain_admin=201, owner=201, outsider=201, viewer=201), body={"name": "ci"}),
    Row("POST", "/api/v1/api-keys/{pk}/revoke/", CHANGE_OBJECT, pk="api_key"),
    # --- users ----------------------------------------------------------------------------------
    Row("GET", "/api/v1/users/", READ_ALL),
    Row(
        "POST",
        "/api/v1/users/",
        E(domain_admin=201, owner=201, outsider=400, viewer=403),
        body={"username": "matrix-user", "password": NEW_PASSWORD, "organization": "acme", "access_level": "basic"},
    ),
    Row("GET", "/api/v1/users/{pk}/", READ_OBJECT, pk="user"),
    Row("PATCH", "/api/v1/users/{pk}/", CHANGE_OBJECT, pk="user", body={"first_name": "Mat", "password": NEW_PASSWORD}),
    Row("DELETE", "/api/v1/users/{pk}/", E(domain_admin=204, owner=204, outsider=404, viewer=403), pk="user"),
    # --- roles ----------------------------------------------------------------------------------
    Row("GET", "/api/v1/roles/", READ_ALL),
    Row(
        "POST",
        "/api/v1/roles/",
        E(domain_admin=201, owner=201, outsider=400, viewer=403),
        body=lambda objects: {"organization": "acme", "name": "matrix role", "clouds": [objects["cloud"].pk]},
    ),
    Row("GET", "/api/v1/roles/{pk}/", READ_OBJECT, pk="role"),
    Row("PATCH", "/api/v1/roles/{pk}/", CHANGE_OBJECT, pk="role", body={"can_manage": True}),
    Row("DELETE", "/api/v1/roles/{pk}/", E(domain_admin=204, owner=204, outsider=404, viewer=403), pk="role"),
    # --- insights, packs, scorecards: a custom one belongs to its organization (others: 404); -------
    # --- anyone with the "edit insights" right makes their own organization's (so outsider 201) -----
    Row("GET", "/api/v1/insights/", READ_ALL),
    Row(
        "POST",
        "/api/v1/insights/",
        E(domain_admin=201, owner=201, outsider=201, viewer=403),
        body={**CUSTOM_INSIGHT, "id": "matrix-new-insight"},
    ),
    Row("GET", "/api/v1/insights/{pk}/", READ_OBJECT, pk="custom_insight"),
    Row("PUT", "/api/v1/insights/{pk}/", CHANGE_OBJECT, pk="custom_insight", body=CUSTOM_INSIGHT),
    Row("PATCH", "/api/v1/insights/{pk}/", CHANGE_OBJECT, pk="custom_insight", body={"severity": "low"}),
    Row(
        "DELETE",
        "/api/v1/insights/{pk}/",
        E(domain_admin=204, owner=204, outsider=404, viewer=403),
        pk="custom_insight",
    ),
    Row("GET", "/api/v1/packs/", READ_ALL),
    Row(
        "POST",
        "/api/v1/packs/",
        E(domain_admin=201, owner=201, outsider=201, viewer=403),
        body={**CUSTOM_PACK, "id": "matrix-new-pack"},
    ),
    Row("GET", "/api/v1/packs/{pk}/", READ_OBJECT, pk="custom_pack"),
    Row("PUT", "/api/v1/packs/{pk}/", CHANGE_OBJECT, pk="custom_pack", body=CUSTOM_PACK),
    Row("PATCH", "/api/v1/packs/{pk}/", CHANGE_OBJECT, pk="custom_pack", body={"name": "Renamed"}),
    Row("DELETE", "/api/v1/packs/{pk}/", E(domain_admin=204, owner=204, outsider=404, viewer=403), pk="custom_pack"),
    Row("GET", "/api/v1/packs/{pk}/scorecards/", READ_OBJECT, pk="custom_pack"),
    Row("GET", "/api/v1/scorecards/", READ_ALL),
    Row("GET", "/api/v1/scorecards/{pk}/", READ_OBJECT, pk="scorecard"),
]


def suggested_row(method: str, path: str) -> str:
    """The row to paste for an endpoint the matrix lacks: the usual answers for its shape, to be
    checked against the endpoint's rules (run the test: a wrong guess fails with the real status)."""
    detail = "{pk}" in path
    segment = path.removeprefix("/api/v1/").split("/")[0]
    pk = f', pk="{segment.rstrip("s").replace("-", "_")}"' if detail else ""
    if method == "GET":
        expect = "READ_OBJECT" if detail else "READ_ALL"
    elif method == "DELETE":
        expect = "E(domain_admin=204, owner=204, outsider=404, viewer=403)"
    elif detail:
        expect = "CHANGE_OBJECT"
    else:
        expect = "E(domain_admin=201, owner=201, outsider=400, viewer=403)"
    body = ", body={}" if method in ("POST", "PUT", "PATCH") else ""
    return f'    Row("{method}", "{path}", {expect}{pk}{body}),'
