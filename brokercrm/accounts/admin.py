from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.http import HttpRequest
from unfold.admin import ModelAdmin
from unfold.forms import AdminPasswordChangeForm, UserChangeForm, UserCreationForm

from brokercrm.admin import ReadOnlyAdminMixin, ScopedAdmin

from . import services
from .models import Role, RoleGrant, User


@admin.register(User)
class UserAdmin(DjangoUserAdmin, ModelAdmin):
    """Staff logins. Managed by superusers; roles are given through role grants."""

    form = UserChangeForm
    add_form = UserCreationForm
    change_password_form = AdminPasswordChangeForm

    list_display = [
        "username",
        "email",
        "kind",
        "is_active",
        "is_staff",
        "is_superuser",
        "last_login",
    ]
    list_filter = ["kind", "is_active", "is_staff", "is_superuser"]
    fieldsets = (
        *DjangoUserAdmin.fieldsets[:2],
        ("Access", {"fields": ("kind", "profile", "is_active", "is_staff", "is_superuser")}),
        ("Preferences", {"fields": ("time_zone",)}),
        ("Dates", {"fields": ("last_login", "date_joined")}),
    )
    # A client login is opened by client_login_create for one profile; the kind and the
    # profile never change afterwards (the database refuses a client without a profile).
    readonly_fields = ["kind", "profile"]

    # Every staff member may open their own user page and set their time zone there; the
    # rest of the page (access, groups, other people) stays with those who manage users.
    def _own_page_only(self, request: HttpRequest, obj: Any) -> bool:
        return (
            obj is not None
            and obj.pk == request.user.pk
            and not super().has_change_permission(request, obj)
        )

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return super().has_view_permission(request, obj) or self._own_page_only(request, obj)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return super().has_change_permission(request, obj) or self._own_page_only(request, obj)

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> Any:
        if self._own_page_only(request, obj):
            return (("Preferences", {"fields": ("time_zone",)}),)
        return super().get_fieldsets(request, obj)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        if self._own_page_only(request, obj):
            return []
        return super().get_readonly_fields(request, obj)


@admin.register(Role)
class RoleAdmin(ReadOnlyAdminMixin, ModelAdmin):
    """Roles are defined in code (brokercrm/accounts/roles.py) and shown here for reference."""

    list_display = ["code", "name", "oversight"]
    readonly_fields = ["code", "name", "description", "oversight", "permission_list"]
    fields = readonly_fields

    @admin.display(description="Permissions")
    def permission_list(self, role: Role) -> str:
        return ", ".join(sorted(services.role_permission_names(role)))

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request.user.is_active and request.user.is_staff

    def has_module_permission(self, request: HttpRequest) -> bool:
        return self.has_view_permission(request)


class GrantAddForm(forms.ModelForm):
    class Meta:
        model = RoleGrant
        fields = ["user", "role", "entity", "desk", "group_wide", "reason"]


class GrantRevokeForm(forms.ModelForm):
    revoke = forms.BooleanField(required=False, help_text="Revoke this grant now.")

    class Meta:
        model = RoleGrant
        fields = ["revoke_reason"]


@admin.register(RoleGrant)
class RoleGrantAdmin(ScopedAdmin):
    """Grants are given and revoked through the access services, so each is audited and the
    guardian object permissions follow."""

    list_display = [
        "user",
        "role",
        "entity",
        "desk",
        "group_wide",
        "granted_at",
        "granted_by",
        "revoked_at",
    ]
    list_filter = ["role", "entity", "group_wide", ("revoked_at", admin.EmptyFieldListFilter)]
    search_fields = ["user__username", "reason"]
    readonly_fields = [
        "user",
        "role",
        "entity",
        "desk",
        "group_wide",
        "reason",
        "granted_by",
        "granted_at",
        "revoked_at",
        "revoked_by",
    ]

    def get_form(
        self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any
    ) -> Any:
        kwargs["form"] = GrantRevokeForm if obj is not None else GrantAddForm
        return super().get_form(request, obj, change=change, **kwargs)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return self.readonly_fields if obj is not None else []

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        if obj is None:
            return ["user", "role", "entity", "desk", "group_wide", "reason"]
        return [*self.readonly_fields, "revoke_reason", "revoke"]

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # "Changing" a grant means revoking it.
        scope = self.scope(request, "delete")
        if obj is None:
            return not scope.is_empty
        return obj.revoked_at is None and scope.contains(obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # grants are revoked, never deleted: they are the access history

    def save_model(
        self, request: HttpRequest, obj: RoleGrant, form: forms.ModelForm, change: bool
    ) -> None:
        if change:
            if form.cleaned_data.get("revoke"):
                services.role_revoke(actor=request.user, grant=obj, reason=obj.revoke_reason)
            return
        granted = services.role_grant(
            actor=request.user,
            user=obj.user,
            role=obj.role,
            entity=obj.entity,
            desk=obj.desk,
            group_wide=obj.group_wide,
            reason=obj.reason,
        )
        obj.pk = granted.pk
