"""Users, roles and API keys administration (System pages and API), the audit log's filters and
exports, and "enqueue now" on the Jobs page and in the API."""

from __future__ import annotations

import json

import pytest
from django.test import Client
from rest_framework.test import APIClient

from insightcloud.accounts.api_keys import create_api_key
from insightcloud.accounts.models import AccessLevel, ApiKey, AuditEvent, Role, User
from insightcloud.accounts.permissions import can_manage_cloud, clouds_visible_to
from scheduler.models import Job
from tests.web.conftest import PASSWORD, api, gui, make_user

pytestmark = pytest.mark.django_db

STRONG = "Another-Passphrase-77"


def new_user_form(**changes) -> dict:
    form = {
        "username": "carol",
        "email": "carol@example.com",
        "first_name": "Carol",
        "last_name": "",
        "access_level": "basic",
        "is_active": "on",
        "password1": STRONG,
        "password2": STRONG,
    }
    return {**form, **changes}


def can_log_in(username: str, password: str) -> bool:
    # Through the login page: the lock-out backend needs a real request.
    return Client().post("/login", {"username": username, "password": password}).status_code == 302


def no_password_in_audit() -> None:
    for event in AuditEvent.objects.all():
        text = json.dumps(event.details)
        assert STRONG not in text and PASSWORD not in text and "md5$" not in text, event.action


# --- System pages -------------------------------------------------------------------------------


def test_a_domain_admin_creates_a_user_from_the_system_pages(users, organization):
    admin = gui(users["admin"])
    assert "/system/users/" in admin.get("/system/").content.decode()
    response = admin.post("/system/users/new", new_user_form(organization=organization.pk))
    carol = User.objects.get(username="carol")
    assert response.status_code == 302 and response.url == f"/system/users/{carol.pk}"
    assert carol.check_password(STRONG) and carol.organization == organization and carol.access_level == "basic"
    event = AuditEvent.objects.get(action="user.create")
    assert event.actor_name == "admin" and event.target == "carol" and event.organization == organization
    assert event.details["fields"]["organization"] == "Acme"
    assert "carol" in admin.get("/system/users/").content.decode()
    assert can_log_in("carol", STRONG)
    no_password_in_audit()


def test_a_weak_password_or_a_mismatch_creates_nobody(users, organization):
    admin = gui(users["admin"])
    weak = admin.post(
        "/system/users/new", new_user_form(organization=organization.pk, password1="carol", password2="carol")
    )
    assert weak.status_code == 200 and "too short" in weak.content.decode()
    differ = admin.post("/system/users/new", new_user_form(organization=organization.pk, password2=STRONG + "x"))
    assert "the two passwords differ" in differ.content.decode()
    assert not User.objects.filter(username="carol").exists()
    assert not AuditEvent.objects.filter(action="user.create").exists()


def test_an_api_only_user_needs_no_password_and_cannot_log_in(users, organization):
    gui(users["org_admin"]).post(
        "/system/users/new",
        new_user_form(username="robot", api_only="on", password1="", password2="") | {"organization": organization.pk},
    )
    robot = User.objects.get(username="robot")
    assert robot.api_only and not robot.has_usable_password()
    assert not can_log_in("robot", "")
    assert APIClient(HTTP_X_API_KEY=create_api_key(robot, "ci")[1]).get("/api/v1/clouds/").status_code == 200


def test_an_organization_admin_cannot_escalate(users, organization, other_organization):
    org_admin = gui(users["org_admin"])
    page = org_admin.get("/system/users/new").content.decode()
    assert 'value="organization_admin"' in page and 'value="domain_admin"' not in page
    assert 'value="domain_viewer"' not in page and "Globex" not in page
    as_domain_admin = org_admin.post(
        "/system/users/new", new_user_form(organization=organization.pk, access_level="domain_admin")
    )
    assert as_domain_admin.status_code == 200 and "Select a valid choice" in as_domain_admin.content.decode()
    elsewhere = org_admin.post("/system/users/new", new_user_form(organization=other_organization.pk))
    assert elsewhere.status_code == 200
    assert not User.objects.filter(username="carol").exists()

    member = users["member"]
    fields = {"operation": "edit", "username": "member", "organization": organization.pk, "is_active": "on"}
    org_admin.post(f"/system/users/{member.pk}", {**fields, "access_level": "domain_viewer"})
    member.refresh_from_db()
    assert member.access_level == AccessLevel.BASIC
    assert not AuditEvent.objects.filter(action__startswith="user.").exists()
    # Through the API too, with the field named.
    refused = api(users["org_admin"]).patch(
        f"/api/v1/users/{member.pk}/", {"access_level": "domain_admin"}, format="json"
    )
    assert refused.status_code == 400 and "access_level" in refused.json()["fields"]


def test_an_organization_admin_sees_only_their_organization(users, other_organization):
    globex_admin = make_user("globex-admin", other_organization, AccessLevel.ORGANIZATION_ADMIN)
    listing = gui(users["org_admin"]).get("/system/users/").content.decode()
    assert "member" in listing and "outsider" not in listing and ">admin<" not in listing
    # Another organization's user, and a domain-wide user filed under Acme, are out of reach: 404.
    assert gui(users["org_admin"]).get(f"/system/users/{users['outsider'].pk}").status_code == 404
    assert gui(users["org_admin"]).get(f"/system/users/{users['admin'].pk}").status_code == 404
    outsider = gui(globex_admin)
    assert outsider.get(f"/system/users/{users['member'].pk}").status_code == 404
    assert outsider.post(f"/system/users/{users['member'].pk}", {"operation": "deactivate"}).status_code == 404
    role = Role.objects.get(name="prod readers")
    assert outsider.get(f"/system/roles/{role.pk}").status_code == 404
    assert "prod readers" not in outsider.get("/system/roles/").content.decode()
    users["member"].refresh_from_db()
    assert users["member"].is_active


def test_basic_users_have_no_access_and_viewers_only_look(users):
    for persona in ("member", "outsider"):
        for page in ("/system/users/", "/system/roles/", "/system/api-keys/", "/system/users/new"):
            assert gui(users[persona]).get(page).status_code == 403, (persona, page)
        assert "Administration" not in gui(users[persona]).get("/system/").content.decode()
    viewer = gui(users["viewer"])
    member = users["member"]
    assert "member" in viewer.get("/system/users/").content.decode()
    page = viewer.get(f"/system/users/{member.pk}").content.decode()
    assert "Reset password" not in page and "Deactivate" not in page
    assert "selected>Acme</option>" in page and "selected>Basic user</option>" in page  # shown read-only
    assert viewer.post(f"/system/users/{member.pk}", {"operation": "deactivate"}).status_code == 403
    assert viewer.get("/system/users/new").status_code == 403
    member.refresh_from_db()
    assert member.is_active


def test_deactivating_stops_logins_and_keys_and_a_reset_password_must_pass_the_policy(users):
    member = users["member"]
    key = create_api_key(member, "ci")[1]
    org_admin = gui(users["org_admin"])
    org_admin.post(f"/system/users/{member.pk}", {"operation": "deactivate"})
    assert not can_log_in("member", PASSWORD)
    assert APIClient(HTTP_X_API_KEY=key).get("/api/v1/clouds/").status_code == 401
    org_admin.post(f"/system/users/{member.pk}", {"operation": "activate"})
    assert APIClient(HTTP_X_API_KEY=key).get("/api/v1/clouds/").status_code == 200

    weak = org_admin.post(
        f"/system/users/{member.pk}", {"operation": "password", "new_password1": "12345", "new_password2": "12345"}
    )
    assert "too short" in weak.content.decode() and can_log_in("member", PASSWORD)
    org_admin.post(
        f"/system/users/{member.pk}", {"operation": "password", "new_password1": STRONG, "new_password2": STRONG}
    )
    assert can_log_in("member", STRONG)
    changes = AuditEvent.objects.filter(target="member", action__startswith="user.").order_by("created_at")
    actions = list(changes.values_list("action", flat=True))
    assert actions == ["user.update", "user.update", "user.password_reset"]
    assert AuditEvent.objects.filter(action="user.update").first().details["changes"]["is_active"] in (
        [True, False],
        [False, True],
    )
    no_password_in_audit()


def test_nobody_deactivates_or_deletes_themselves(users):
    me = users["org_admin"]
    page = gui(me).post(f"/system/users/{me.pk}", {"operation": "deactivate"}, follow=True).content.decode()
    assert "you may not deactivate yourself" in page
    assert api(me).delete(f"/api/v1/users/{me.pk}/").status_code == 403
    me.refresh_from_db()
    assert me.is_active


def test_a_role_grants_manage_rights_over_chosen_clouds_of_its_organization(users, estate, organization):
    member, dev = users["member"], estate["dev"]
    assert not can_manage_cloud(member, dev)
    org_admin = gui(users["org_admin"])
    form = {"organization": organization.pk, "name": "dev operators", "can_manage": "on", "clouds": [dev.pk]}
    refused = org_admin.post("/system/roles/new", {**form, "clouds": [estate["globex"].pk], "users": [member.pk]})
    assert refused.status_code == 200 and not Role.objects.filter(name="dev operators").exists()
    response = org_admin.post("/system/roles/new", {**form, "users": [member.pk]})
    role = Role.objects.get(name="dev operators")
    assert response.url == f"/system/roles/{role.pk}"
    assert can_manage_cloud(member, dev) and set(clouds_visible_to(member)) == {estate["prod"], dev}
    assert AuditEvent.objects.get(action="role.create").details["fields"]["users"] == ["member"]

    org_admin.post(f"/system/roles/{role.pk}", {**form, "can_manage": "", "users": [member.pk]})
    assert not can_manage_cloud(member, dev)
    assert AuditEvent.objects.get(action="role.update").details["changes"]["can_manage"] == [True, False]
    org_admin.post(f"/system/roles/{role.pk}", {"operation": "delete"})
    assert not Role.objects.filter(pk=role.pk).exists() and AuditEvent.objects.filter(action="role.delete").exists()


def test_administrators_see_and_revoke_the_api_keys_of_their_users(users, other_organization):
    key, plain = create_api_key(users["member"], "member-ci")
    create_api_key(users["outsider"], "globex-ci")
    page = gui(users["org_admin"]).get("/system/api-keys/").content.decode()
    assert "member-ci" in page and "globex-ci" not in page
    assert "member-ci" in gui(users["viewer"]).get("/system/api-keys/").content.decode()
    assert gui(users["viewer"]).post("/system/api-keys/", {"revoke": key.pk}).status_code == 403
    gui(users["org_admin"]).post("/system/api-keys/", {"revoke": key.pk})
    key.refresh_from_db()
    assert key.revoked_at is not None
    assert APIClient(HTTP_X_API_KEY=plain).get("/api/v1/clouds/").status_code == 401
    event = AuditEvent.objects.get(action="api_key.revoke")
    assert event.details["owner"] == "member" and event.organization == users["member"].organization
    globex_admin = gui(make_user("globex-admin", other_organization, AccessLevel.ORGANIZATION_ADMIN))
    assert globex_admin.post("/system/api-keys/", {"revoke": key.pk}).status_code == 404


# --- Audit log ------------------------------------------------------------------------------------


@pytest.fixture
def history(users):
    from datetime import timedelta

    from django.utils import timezone

    from insightcloud.accounts import audit

    old = audit.record("cloud.pause", actor=users["member"], target="acme-prod")
    AuditEvent.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=3))
    audit.record("cloud.harvest", actor=users["member"], target="acme-prod")
    audit.record("user.create", actor=users["org_admin"], target="carol")
    return timezone.now() - timedelta(days=1)


def test_the_audit_page_filters_by_who_what_and_time_and_exports_csv_and_json(users, history):
    admin = gui(users["admin"])
    by_who = admin.get("/system/audit", {"actor": "member"}).content.decode()
    assert "cloud.harvest" in by_who and "user.create" not in by_who
    recent = admin.get("/system/audit", {"actor": "member", "since": history.strftime("%Y-%m-%dT%H:%M")})
    assert "cloud.harvest" in recent.content.decode() and "cloud.pause" not in recent.content.decode()
    export = admin.get("/system/audit", {"action": "cloud.", "export": "json"})
    rows = json.loads(b"".join(export.streaming_content))
    assert export["Content-Type"] == "application/json"
    assert sorted(row["action"] for row in rows) == ["cloud.harvest", "cloud.pause"]
    assert set(rows[0]) == {"time", "actor", "action", "target", "address", "details"}
    csv_rows = b"".join(admin.get("/system/audit", {"until": history.isoformat(), "export": "csv"}).streaming_content)
    assert csv_rows.decode().splitlines()[1].split(",")[1:3] == ["member", "cloud.pause"]
    assert AuditEvent.objects.filter(action="audit.export", actor_name="admin").count() == 2


def test_the_audit_api_filters_and_exports_what_the_caller_may_see(users, history):
    listed = api(users["org_admin"]).get("/api/v1/audit/", {"action": "cloud."}).json()["results"]
    assert {e["action"] for e in listed} == {"cloud.pause", "cloud.harvest"}
    export = api(users["org_admin"]).get("/api/v1/audit/export/", {"export": "json", "since": history.isoformat()})
    assert [row["action"] for row in json.loads(b"".join(export.streaming_content))] == ["user.create", "cloud.harvest"]
    assert api(users["outsider"]).get("/api/v1/audit/", {"actor": "member"}).json()["results"] == []
    bad = api(users["admin"]).get("/api/v1/audit/export/", {"export": "xml"})
    assert bad.status_code == 400 and "export" in bad.json()["fields"]
    bad_time = api(users["admin"]).get("/api/v1/audit/", {"since": "yesterday"})
    assert bad_time.status_code == 400 and "since" in bad_time.json()["fields"]


# --- Users and roles API ------------------------------------------------------------------------


def test_the_users_api_creates_with_a_write_only_password_checked_against_the_policy(users, organization):
    admin = api(users["admin"])
    body = {"username": "dave", "organization": "acme", "access_level": "organization_admin"}
    weak = admin.post("/api/v1/users/", {**body, "password": "dave"}, format="json")
    assert weak.status_code == 400 and weak.json()["fields"]["password"]
    missing = admin.post("/api/v1/users/", body, format="json")
    assert "password" in missing.json()["fields"]
    created = admin.post("/api/v1/users/", {**body, "password": STRONG}, format="json")
    assert created.status_code == 201 and "password" not in created.json()
    dave = User.objects.get(username="dave")
    assert dave.check_password(STRONG) and dave.access_level == "organization_admin"
    listing = admin.get("/api/v1/users/").json()["results"]
    assert all("password" not in row for row in listing)
    assert {row["username"]: row["roles"] for row in listing}["member"] == ["prod readers"]

    robot = admin.post("/api/v1/users/", {"username": "robot", "organization": "acme", "api_only": True}, format="json")
    assert robot.status_code == 201 and not User.objects.get(username="robot").has_usable_password()
    no_password_in_audit()


def test_an_organization_admin_creates_users_only_in_their_organization(users, other_organization):
    org_admin = api(users["org_admin"])
    elsewhere = org_admin.post(
        "/api/v1/users/", {"username": "eve", "organization": "globex", "password": STRONG}, format="json"
    )
    assert elsewhere.status_code == 400 and "organization" in elsewhere.json()["fields"]
    nowhere = org_admin.post("/api/v1/users/", {"username": "eve", "password": STRONG}, format="json")
    assert nowhere.status_code == 400 and "organization" in nowhere.json()["fields"]
    assert not User.objects.filter(username="eve").exists()
    listed = {row["username"] for row in org_admin.get("/api/v1/users/").json()["results"]}
    assert listed == {"acme-admin", "member"}


def test_the_roles_api_keeps_a_role_inside_its_organization(users, estate, organization):
    admin = api(users["admin"])
    body = {"organization": "acme", "name": "ops", "can_manage": True, "clouds": [estate["globex"].pk]}
    mixed = admin.post("/api/v1/roles/", body, format="json")
    assert mixed.status_code == 400 and "must belong to Acme" in mixed.json()["fields"]["clouds"][0]
    outsider_member = admin.post("/api/v1/roles/", {**body, "clouds": [], "users": ["outsider"]}, format="json")
    assert "users" in outsider_member.json()["fields"]
    created = admin.post("/api/v1/roles/", {**body, "clouds": [estate["dev"].pk], "users": ["member"]}, format="json")
    assert created.status_code == 201
    assert can_manage_cloud(users["member"], estate["dev"])
    duplicate = admin.post("/api/v1/roles/", {**body, "clouds": []}, format="json")
    assert duplicate.status_code == 400
    assert Role.objects.filter(name="ops").count() == 1


def test_the_api_keys_api_lists_users_keys_for_administrators(users):
    create_api_key(users["member"], "member-ci")
    create_api_key(users["outsider"], "globex-ci")
    mine = api(users["member"]).get("/api/v1/api-keys/").json()["results"]
    assert [(k["name"], k["user"]) for k in mine] == [("member-ci", "member")]
    seen = {k["name"] for k in api(users["org_admin"]).get("/api/v1/api-keys/").json()["results"]}
    assert seen == {"member-ci"}
    one_user = api(users["admin"]).get("/api/v1/api-keys/", {"user": "outsider"}).json()["results"]
    assert [k["name"] for k in one_user] == ["globex-ci"]
    assert ApiKey.objects.filter(revoked_at__isnull=True).count() == 2


# --- Enqueue now --------------------------------------------------------------------------------


def test_the_jobs_page_enqueues_a_job_the_user_may_enqueue(users, estate):
    org_admin = gui(users["org_admin"])
    page = org_admin.get("/jobs/").content.decode()
    assert "enqueue-form" in page and "globex-prod" not in page and "acme-dev" in page
    org_admin.post("/jobs/", {"enqueue": "1", "kind": "evaluate", "cloud": estate["dev"].pk, "full": "on"})
    job = Job.objects.get(kind="evaluate")
    assert (job.priority, job.cloud, job.arguments["full"], job.requested_by) == (
        "p0",
        estate["dev"],
        True,
        "acme-admin",
    )
    assert AuditEvent.objects.filter(action="cloud.evaluate", actor_name="acme-admin").exists()

    # The member may only view: no form, and a forged post enqueues nothing.
    assert "enqueue-form" not in gui(users["member"]).get("/jobs/").content.decode()
    gui(users["member"]).post("/jobs/", {"enqueue": "1", "kind": "harvest", "cloud": estate["prod"].pk})
    gui(users["viewer"]).post("/jobs/", {"enqueue": "1", "kind": "harvest", "cloud": estate["prod"].pk})
    assert not Job.objects.filter(kind="harvest").exists()


def test_the_jobs_api_enqueues_now_with_clear_errors(users, estate):
    org_admin = api(users["org_admin"])
    harvest = org_admin.post("/api/v1/jobs/", {"kind": "harvest", "cloud": estate["prod"].pk}, format="json")
    assert harvest.status_code == 202 and harvest.json()["priority"] == "p0"
    again = org_admin.post("/api/v1/jobs/", {"kind": "harvest", "cloud": estate["prod"].pk}, format="json")
    assert again.json()["id"] == harvest.json()["id"]
    unknown = org_admin.post("/api/v1/jobs/", {"kind": "noop", "cloud": estate["prod"].pk}, format="json")
    assert unknown.status_code == 400 and "kind" in unknown.json()["fields"]
    hidden = org_admin.post("/api/v1/jobs/", {"kind": "harvest", "cloud": estate["globex"].pk}, format="json")
    assert hidden.status_code == 400 and "cloud" in hidden.json()["fields"]
    org_admin.post(f"/api/v1/clouds/{estate['dev'].pk}/pause/")
    paused = org_admin.post("/api/v1/jobs/", {"kind": "harvest", "cloud": estate["dev"].pk}, format="json")
    assert paused.status_code == 403 and "paused" in paused.json()["error"]
    assert Job.objects.count() == 1
