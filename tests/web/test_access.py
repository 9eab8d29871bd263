"""Logging in, the first-run page, lock-out and CSRF."""

from __future__ import annotations

import pytest
from django.test import Client

from insightcloud.accounts.models import AccessLevel, AuditEvent, User
from tests.web.conftest import PASSWORD, make_user

pytestmark = pytest.mark.django_db


def test_pages_need_a_login(client):
    User.objects.create_user("someone", password=PASSWORD)
    response = client.get("/inventory/")
    assert response.status_code == 302
    assert response.url.startswith("/login?next=/inventory/")


def test_with_no_user_the_login_page_sends_to_setup_which_creates_the_first_admin(client):
    assert client.get("/login").url == "/setup"
    response = client.post(
        "/setup",
        {"username": "root", "email": "", "password1": "a-long-enough-pass-42", "password2": "a-long-enough-pass-42"},
    )
    assert response.status_code == 302
    admin = User.objects.get()
    assert admin.access_level == AccessLevel.DOMAIN_ADMIN and admin.is_superuser
    assert AuditEvent.objects.filter(action="setup.first_admin").exists()
    # Once a user exists, the setup page is gone.
    assert Client().get("/setup").status_code == 404


def test_setup_refuses_a_weak_password(client):
    response = client.post("/setup", {"username": "root", "password1": "short", "password2": "short"})
    assert response.status_code == 200
    assert not User.objects.exists()
    assert "too short" in response.content.decode()


def test_a_user_logs_in_and_out(client, organization):
    make_user("alice", organization)
    response = client.post("/login", {"username": "alice", "password": PASSWORD})
    assert response.status_code == 302
    assert client.get("/inventory/").status_code == 200
    assert AuditEvent.objects.filter(action="login", actor_name="alice").exists()
    client.post("/logout")
    assert client.get("/inventory/").status_code == 302


def test_an_api_only_user_cannot_log_in_to_the_gui(client, organization):
    make_user("robot", organization, api_only=True)
    response = client.post("/login", {"username": "robot", "password": PASSWORD})
    assert response.status_code == 200
    assert "only use API keys" in response.content.decode()


def test_repeated_failures_lock_the_user_out_even_with_the_right_password(client, organization, settings):
    make_user("alice", organization)
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post("/login", {"username": "alice", "password": "wrong"})
    response = client.post("/login", {"username": "alice", "password": PASSWORD})
    assert response.status_code == 429
    assert "Too many failed logins" in response.content.decode()


def test_repeated_failures_from_one_address_lock_that_address_for_every_user(organization, settings):
    make_user("alice", organization)
    attacker = Client(REMOTE_ADDR="203.0.113.9")
    for n in range(settings.AXES_FAILURE_LIMIT):
        attacker.post("/login", {"username": f"guess{n}", "password": "wrong"})
    assert attacker.post("/login", {"username": "alice", "password": PASSWORD}).status_code == 429
    # Another address is not affected.
    assert (
        Client(REMOTE_ADDR="198.51.100.7").post("/login", {"username": "alice", "password": PASSWORD}).status_code
        == 302
    )


def test_forms_refuse_a_post_without_the_csrf_token(organization):
    make_user("alice", organization)
    strict = Client(enforce_csrf_checks=True)
    assert strict.post("/login", {"username": "alice", "password": PASSWORD}).status_code == 403
