"""Forms of the System section's administration pages. Choices offered are only those the acting
user may grant; the same rules (insightcloud.accounts.permissions) refuse anything else posted."""

from __future__ import annotations

from django import forms
from django.contrib.auth import password_validation

from insightcloud.accounts.administration import USER_FIELDS
from insightcloud.accounts.models import AccessLevel, Role, User
from insightcloud.accounts.permissions import (
    access_levels_grantable_by,
    may_administer,
    organizations_administered_by,
    organizations_visible_to,
    role_member_problems,
    user_change_problems,
    users_administered_by,
    users_visible_to,
)
from insightcloud.inventory.models import CloudAccount, ResourceGroup


def _organizations_offered(actor: User):  # noqa: ANN202
    # Administrators choose among the organizations they administer; a viewer's disabled form shows all.
    return organizations_administered_by(actor) if may_administer(actor) else organizations_visible_to(actor)


class UserForm(forms.ModelForm):
    """Create (with a password, unless API-only) or edit a user."""

    password1 = forms.CharField(label="Password", required=False, strip=False, widget=forms.PasswordInput)
    password2 = forms.CharField(label="Password again", required=False, strip=False, widget=forms.PasswordInput)

    class Meta:
        model = User
        fields = list(USER_FIELDS)
        labels = {"api_only": "API only (cannot log in to the GUI)", "is_active": "Active"}

    def __init__(self, *args, actor: User, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.actor = actor
        self.fields["organization"].queryset = _organizations_offered(actor)
        # A domain viewer gets the form read-only (disabled): it shows the values, offers nothing.
        grantable = access_levels_grantable_by(actor) if may_administer(actor) else AccessLevel.values
        self.fields["access_level"].choices = [(v, label) for v, label in AccessLevel.choices if v in grantable]
        if self.instance.pk:  # passwords are reset with their own form
            del self.fields["password1"], self.fields["password2"]

    def clean(self) -> dict:
        data = super().clean()
        level = data.get("access_level")
        if level:
            problems = user_change_problems(
                self.actor,
                organization=data.get("organization"),
                access_level=level,
                target=self.instance if self.instance.pk else None,
            )
            for field, problem in problems.items():
                self.add_error(field, problem)
        if not self.instance.pk:
            password = data.get("password1")
            if password != data.get("password2"):
                self.add_error("password2", "the two passwords differ")
            elif not password and not data.get("api_only"):
                self.add_error("password1", "a user who logs in needs a password")
            elif password:
                try:
                    # A stand-in with the posted names, so "too similar to the user name" is caught.
                    candidate = User(
                        **{k: v for k, v in data.items() if k in ("username", "email", "first_name", "last_name")}
                    )
                    password_validation.validate_password(password, candidate)
                except forms.ValidationError as exc:
                    self.add_error("password1", exc)
        return data

    def user_fields(self) -> dict:
        return {name: self.cleaned_data[name] for name in USER_FIELDS}


class RoleForm(forms.ModelForm):
    class Meta:
        model = Role
        fields = ["organization", "name", "can_manage", "all_clouds", "clouds", "resource_groups", "users"]
        labels = {
            "can_manage": "Manage (enqueue harvests, run actions, exempt, edit insights), not only view",
            "all_clouds": "All the organization's clouds",
            "users": "Members",
        }
        widgets = {name: forms.CheckboxSelectMultiple for name in ("clouds", "resource_groups", "users")}

    def __init__(self, *args, actor: User, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        organizations = _organizations_offered(actor)
        self.fields["organization"].queryset = organizations
        self.fields["clouds"].queryset = CloudAccount.objects.filter(organization__in=organizations).order_by("name")
        self.fields["resource_groups"].queryset = ResourceGroup.objects.filter(organization__in=organizations)
        members = (users_administered_by if may_administer(actor) else users_visible_to)(actor)
        members = members.filter(organization__in=organizations)
        self.fields["users"].queryset = members.order_by("username")

    def clean(self) -> dict:
        data = super().clean()
        if organization := data.get("organization"):
            problems = role_member_problems(
                organization,
                clouds=data.get("clouds") or (),
                resource_groups=data.get("resource_groups") or (),
                users=data.get("users") or (),
            )
            for field, problem in problems.items():
                self.add_error(field, problem)
        return data

    def role_fields(self) -> dict:
        return dict(self.cleaned_data)
