"""Serializers for administration: users (password write-only) and roles.

The rules (who may grant what, where members must belong) are in insightcloud.accounts.permissions;
these turn their answers into field errors. Related objects a caller does not administer are not
offered at all, so naming one answers "does not exist" rather than revealing it.
"""

from __future__ import annotations

from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import serializers

from insightcloud.accounts import administration
from insightcloud.accounts.models import AccessLevel, Role, User
from insightcloud.accounts.permissions import (
    organizations_administered_by,
    role_member_problems,
    user_change_problems,
    users_administered_by,
)
from insightcloud.inventory.models import CloudAccount, Organization, ResourceGroup


def _actor(serializer: serializers.Serializer) -> User:
    return serializer.context["request"].user


def _request(serializer: serializers.Serializer):  # noqa: ANN202
    return serializer.context.get("request")


class UserSerializer(serializers.ModelSerializer):
    organization = serializers.SlugRelatedField(
        slug_field="slug", queryset=Organization.objects.none(), allow_null=True, required=False
    )
    roles = serializers.SlugRelatedField(slug_field="name", many=True, read_only=True)
    password = serializers.CharField(
        write_only=True,
        required=False,
        trim_whitespace=False,
        style={"input_type": "password"},
        help_text="write-only; checked against the password policy; omit for an API-only user",
    )

    class Meta:
        model = User
        fields = [
            "id",
            "username",
            "email",
            "first_name",
            "last_name",
            "organization",
            "access_level",
            "api_only",
            "is_active",
            "roles",
            "last_login",
            "date_joined",
            "password",
        ]
        read_only_fields = ["last_login", "date_joined"]

    def get_fields(self) -> dict:
        fields = super().get_fields()
        request = _request(self)
        if request is not None and request.user.is_authenticated:
            fields["organization"].queryset = organizations_administered_by(request.user)
        return fields

    def validate(self, attrs: dict) -> dict:
        user = self.instance
        organization = attrs["organization"] if "organization" in attrs else getattr(user, "organization", None)
        level = attrs.get("access_level", getattr(user, "access_level", AccessLevel.BASIC))
        problems = user_change_problems(_actor(self), organization=organization, access_level=level, target=user)
        if problems:
            raise serializers.ValidationError({field: [problem] for field, problem in problems.items()})
        password = attrs.get("password")
        api_only = attrs.get("api_only", getattr(user, "api_only", False))
        if user is None and not password and not api_only:
            raise serializers.ValidationError({"password": ["a user who logs in needs a password"]})
        if password:
            candidate = user or User(**{k: v for k, v in attrs.items() if k in administration.USER_FIELDS})
            try:
                password_validation.validate_password(password, candidate)
            except DjangoValidationError as exc:
                raise serializers.ValidationError({"password": list(exc.messages)}) from None
        return attrs

    def create(self, validated: dict) -> User:
        password = validated.pop("password", None)
        return administration.create_user(_actor(self), validated, password, _request(self))

    def update(self, user: User, validated: dict) -> User:
        password = validated.pop("password", None)
        user = administration.update_user(_actor(self), user, validated, _request(self))
        if password:
            administration.reset_password(_actor(self), user, password, _request(self))
        return user


class RoleSerializer(serializers.ModelSerializer):
    organization = serializers.SlugRelatedField(slug_field="slug", queryset=Organization.objects.none())
    clouds = serializers.PrimaryKeyRelatedField(many=True, queryset=CloudAccount.objects.none(), required=False)
    resource_groups = serializers.PrimaryKeyRelatedField(
        many=True, queryset=ResourceGroup.objects.none(), required=False
    )
    users = serializers.SlugRelatedField(slug_field="username", many=True, queryset=User.objects.none(), required=False)

    class Meta:
        model = Role
        fields = ["id", "organization", "name", "can_manage", "all_clouds", "clouds", "resource_groups", "users"]

    def get_fields(self) -> dict:
        fields = super().get_fields()
        request = _request(self)
        if request is not None and request.user.is_authenticated:
            organizations = organizations_administered_by(request.user)
            fields["organization"].queryset = organizations
            fields["clouds"].child_relation.queryset = CloudAccount.objects.filter(organization__in=organizations)
            fields["resource_groups"].child_relation.queryset = ResourceGroup.objects.filter(
                organization__in=organizations
            )
            members = users_administered_by(request.user).filter(organization__in=organizations)
            fields["users"].child_relation.queryset = members
        return fields

    def validate(self, attrs: dict) -> dict:
        role = self.instance
        organization = attrs.get("organization") or role.organization

        def current(name: str) -> list:
            return attrs[name] if name in attrs else (list(getattr(role, name).all()) if role else [])

        problems = role_member_problems(
            organization, clouds=current("clouds"), resource_groups=current("resource_groups"), users=current("users")
        )
        if problems:
            raise serializers.ValidationError({field: [problem] for field, problem in problems.items()})
        return attrs

    def create(self, validated: dict) -> Role:
        return administration.save_role(_actor(self), None, validated, _request(self))

    def update(self, role: Role, validated: dict) -> Role:
        return administration.save_role(_actor(self), role, validated, _request(self))
