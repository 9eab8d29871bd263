"""Onboarding a cloud from the GUI or the API: one form per provider, then the provider's own onboard().

The forms check the shape of what was typed; ``harvesters/<cloud>/onboard.py`` (the very function
``manage.py addcloud`` calls) then validates the credentials with the provider and saves, or
raises with a one-line reason and saves nothing. The forms take no server file paths (key files,
CA bundles) and never render a secret back. SDKs are imported only when a form is submitted.
"""

from __future__ import annotations

import io
import logging
import re
from importlib import import_module
from typing import Any

from django import forms
from django.core.exceptions import PermissionDenied
from django.core.management.base import CommandError

from insightcloud.accounts import audit
from insightcloud.accounts.permissions import (
    can_set_cloud_endpoints,
    can_use_server_credentials,
    organizations_where_clouds_can_be_added,
)
from insightcloud.inventory.models import CloudAccount

logger = logging.getLogger("insightcloud.onboarding")

ONBOARD_MODULES = {
    "aws": "harvesters.aws.onboard",
    "azure": "harvesters.azure.onboard",
    "gcp": "harvesters.gcp.onboard",
    "alibaba": "harvesters.alibaba.onboard",
}
REGIONS_HELP = "Comma-separated; leave empty for every enabled region."
MAX_KEY_BYTES = 64 * 1024
ENDPOINTS_REFUSED = (
    "only domain administrators may point a cloud at another endpoint "
    "(INSIGHTCLOUD_CLOUD_ENDPOINTS=cloud-managers allows every cloud manager)"
)


class OnboardingRefused(Exception):
    """The provider refused the credentials or an option: ``str()`` is the one-line reason."""


class SecretInput(forms.PasswordInput):
    def __init__(self, attrs: dict | None = None) -> None:
        super().__init__(attrs={"autocomplete": "new-password", **(attrs or {})}, render_value=False)


class SecretTextarea(forms.Textarea):
    """A pasted key: never rendered back into the page."""

    def format_value(self, value: Any) -> None:
        return None


def _optional(label: str, help_text: str = "", **kwargs: Any) -> forms.CharField:
    return forms.CharField(label=label, required=False, help_text=help_text, max_length=500, **kwargs)


def _url(label: str, **kwargs: Any) -> forms.URLField:
    return forms.URLField(label=label, required=False, assume_scheme="https", **kwargs)


class CloudForm(forms.Form):
    """What every provider's form has: a name and the organization the cloud goes to."""

    provider = ""
    title = ""
    name = forms.CharField(max_length=200)
    organization = forms.ModelChoiceField(queryset=None, to_field_name="slug", required=False)
    regions = _optional("Regions", REGIONS_HELP)

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.user = user
        field = self.fields["organization"]
        field.queryset = organizations_where_clouds_can_be_added(user).order_by("name")
        field.empty_label = None
        if user.organization_id and field.queryset.filter(pk=user.organization_id).exists():
            field.initial = field.queryset.get(pk=user.organization_id).slug
        if field.queryset.count() <= 1:
            field.widget = forms.HiddenInput()

    def clean_name(self) -> str:
        return self.cleaned_data["name"].strip()

    def clean(self) -> dict:
        data = super().clean()
        # The server connects to whatever endpoint a cloud names (and shows the answer's errors):
        # left to every cloud manager, that would let them probe the server's own network.
        if not can_set_cloud_endpoints(self.user):
            for name, field in self.fields.items():
                if isinstance(field, forms.URLField) and data.get(name):
                    self.add_error(name, ENDPOINTS_REFUSED)
        return data

    def clean_organization(self) -> Any:
        chosen = self.cleaned_data.get("organization")
        if chosen is not None:
            return chosen
        organizations = self.fields["organization"].queryset
        own = organizations.filter(pk=self.user.organization_id).first()
        if own is None and organizations.count() != 1:
            raise forms.ValidationError("choose the organization the cloud belongs to")
        return own or organizations.get()

    def onboarding_input(self) -> tuple[dict, str]:
        """(options for onboard(), the secret given to it on "standard input")."""
        raise NotImplementedError


class AwsCloudForm(CloudForm):
    provider, title = "aws", "AWS account"
    auth_type = forms.ChoiceField(
        label="Authentication",
        choices=[("keys", "Access keys"), ("role", "Assume a role"), ("instance", "Instance role of this server")],
    )
    access_key_id = _optional("Access key id", "For access keys, and optionally to assume the role from.")
    secret_access_key = _optional("Secret access key", widget=SecretInput())
    role_arn = _optional("Role ARN", "arn:aws:iam::123456789012:role/InsightCloudAudit")
    external_id = _optional("External id", widget=SecretInput())
    endpoint_url = _url("Endpoint URL", help_text="AWS-compatible endpoint; optional.")
    field_order = ["name", "organization", "auth_type", "access_key_id", "secret_access_key", "role_arn", "external_id"]

    def clean(self) -> dict:
        data = super().clean()
        auth, key_id, secret = data.get("auth_type"), data.get("access_key_id", ""), data.get("secret_access_key", "")
        if auth == "keys" or (auth == "role" and (key_id or secret)):
            if not key_id:
                self.add_error("access_key_id", "the access key id is required")
            if not secret:
                self.add_error("secret_access_key", "the secret access key is required")
        if auth == "role":
            role_arn = data.get("role_arn", "").strip()
            if not re.fullmatch(r"arn:aws[\w-]*:iam::\d{12}:role/[\w+=,.@/-]+", role_arn):
                self.add_error("role_arn", "a role ARN looks like arn:aws:iam::123456789012:role/NAME")
        uses_server = auth == "instance" or (auth == "role" and not key_id)
        if uses_server and not can_use_server_credentials(self.user):
            self.add_error("auth_type", "only domain administrators may use this server's own credentials")
        return data

    def onboarding_input(self) -> tuple[dict, str]:
        data = self.cleaned_data
        auth = data["auth_type"]
        with_keys = auth == "keys" or (auth == "role" and bool(data["access_key_id"]))
        options = {
            "name": data["name"],
            "access_key_id": data["access_key_id"] if with_keys else None,
            "secret_stdin": with_keys,
            "instance_role": not with_keys,
            "role_arn": data["role_arn"].strip() if auth == "role" else None,
            "external_id": (data["external_id"] or None) if auth == "role" else None,
            "regions": data["regions"],
            "endpoint_url": data["endpoint_url"] or None,
        }
        return options, data["secret_access_key"] if with_keys else ""


class AzureCloudForm(CloudForm):
    provider, title = "azure", "Azure subscription(s)"
    tenant_id = forms.CharField(label="Tenant (directory) id", max_length=100)
    client_id = forms.CharField(label="Application (client) id", max_length=100)
    client_secret = forms.CharField(label="Client secret", max_length=500, widget=SecretInput())
    subscription_id = _optional("Subscription id", "Leave empty to onboard every enabled subscription it can see.")
    authority_host = _url("Entra ID endpoint", help_text="Sovereign clouds; optional.")
    arm_endpoint = _url("Resource Manager endpoint")
    field_order = ["name", "organization", "tenant_id", "client_id", "client_secret", "subscription_id", "regions"]

    def onboarding_input(self) -> tuple[dict, str]:
        data = self.cleaned_data
        options = {
            "name": data["name"],
            "tenant_id": data["tenant_id"],
            "client_id": data["client_id"],
            "subscription_id": data["subscription_id"].strip() or None,
            "all_subscriptions": not data["subscription_id"].strip(),
            "regions": data["regions"],
            "authority_host": data["authority_host"] or None,
            "arm_endpoint": data["arm_endpoint"] or None,
        }
        return options, data["client_secret"]


class GcpCloudForm(CloudForm):
    provider, title = "gcp", "GCP project(s)"
    key_json = forms.CharField(
        label="Service-account key (JSON)", required=False, widget=SecretTextarea(attrs={"rows": 4})
    )
    key_file = forms.FileField(label="…or upload the key file", required=False)
    project_id = _optional("Project id")
    organization_id = _optional("…or organization id", "Onboards every active project under it.")
    folder_id = _optional("…or folder id", "Onboards every active project under it.")
    endpoint = _url("API endpoint", help_text="Private endpoints; optional.")
    token_uri = _url("Token endpoint")
    field_order = ["name", "organization", "key_json", "key_file", "project_id", "organization_id", "folder_id"]

    def clean(self) -> dict:
        data = super().clean()
        upload = data.get("key_file")
        if upload is not None:
            if upload.size > MAX_KEY_BYTES:
                self.add_error("key_file", "a service-account key is a few kilobytes; this file is too large")
            else:
                data["key_json"] = upload.read().decode("utf-8", "replace")
        if not (data.get("key_json") or "").strip():
            self.add_error("key_json", "paste the service-account key or upload its file")
        scopes = [name for name in ("project_id", "organization_id", "folder_id") if (data.get(name) or "").strip()]
        if len(scopes) != 1:
            self.add_error("project_id", "give exactly one of project id, organization id and folder id")
        return data

    def onboarding_input(self) -> tuple[dict, str]:
        data = self.cleaned_data
        options = {
            "name": data["name"],
            "project_id": data["project_id"].strip() or None,
            "organization_id": data["organization_id"].strip() or None,
            "folder_id": data["folder_id"].strip() or None,
            "regions": data["regions"],
            "endpoint": data["endpoint"] or None,
            "token_uri": data["token_uri"] or None,
            "api_endpoint": [],
        }
        return options, data["key_json"]


class AlibabaCloudForm(CloudForm):
    provider, title = "alibaba", "Alibaba Cloud account"
    access_key_id = forms.CharField(label="AccessKey id", max_length=128)
    access_key_secret = forms.CharField(label="AccessKey secret", max_length=500, widget=SecretInput())
    role_arn = _optional("RAM role ARN", "Optional: acs:ram::<uid>:role/insightcloud-audit")
    endpoint_url = _url("Endpoint URL", help_text="Apsara Stack; optional.")
    field_order = ["name", "organization", "access_key_id", "access_key_secret", "role_arn", "regions"]

    def onboarding_input(self) -> tuple[dict, str]:
        data = self.cleaned_data
        options = {
            "name": data["name"],
            "access_key_id": data["access_key_id"],
            "role_arn": data["role_arn"].strip() or None,
            "regions": data["regions"],
            "endpoint_url": data["endpoint_url"] or None,
            "endpoint": [],
        }
        return options, data["access_key_secret"]


FORMS: dict[str, type[CloudForm]] = {
    form.provider: form for form in (AwsCloudForm, AzureCloudForm, GcpCloudForm, AlibabaCloudForm)
}


def add_clouds(user: Any, form: CloudForm, request: Any = None) -> list[CloudAccount]:
    """Validate with the provider and save (all or nothing); audit each new cloud.

    Raises OnboardingRefused with the provider's one-line reason, PermissionDenied if the user may not
    add clouds to the chosen organization.
    """
    from harvesters.base import HarvestError

    organization = form.cleaned_data["organization"]
    if not organizations_where_clouds_can_be_added(user).filter(pk=organization.pk).exists():
        raise PermissionDenied("you may not add clouds to this organization")
    options, secret = form.onboarding_input()
    module = import_module(ONBOARD_MODULES[form.provider])
    try:
        clouds = module.onboard(options, io.StringIO(f"{secret}\n"), organization)
    except (HarvestError, ValueError, CommandError) as exc:
        raise OnboardingRefused(" ".join(str(exc).split()) or type(exc).__name__) from None
    except Exception as exc:  # an SDK's own error (bad endpoint …): a reason, never a traceback with secrets
        logger.warning("onboarding %s failed: %s", form.provider, type(exc).__name__)
        raise OnboardingRefused(f"onboarding failed: {type(exc).__name__}") from None
    for cloud in clouds:
        audit.record(
            "cloud.create",
            actor=user,
            request=request,
            target=cloud,
            organization=cloud.organization,
            provider=cloud.provider,
            auth_type=cloud.auth_type,
            account_id=cloud.account_id,
        )
    return clouds
