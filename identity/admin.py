from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html
from unfold.admin import ModelAdmin

from brokercrm.admin import HiddenIsNotFoundMixin, ReadOnlyAdminMixin, ScopedAdmin
from brokercrm.errors import ApplicationError
from brokercrm.scoping import scope_for

from . import logins, services
from .fields import masked
from .models import (
    BrandApiKey,
    ClientProfile,
    DuplicateCase,
    IdentityDocument,
    MatchDecision,
    Person,
    ProfileNotice,
)


class ReadOnlyScopedAdmin(ReadOnlyAdminMixin, ScopedAdmin):
    """Rows created only by the identity services: viewable, never edited in a form."""


@admin.action(description="End the client's sessions (log out everywhere)")
def end_client_sessions(
    modeladmin: ClientProfileAdmin, request: HttpRequest, queryset: QuerySet
) -> None:
    ended = refused = 0
    for profile in queryset:
        try:
            ended += logins.client_sessions_end(
                actor=request.user, profile=profile, reason="ended from the back office"
            )
        except ApplicationError as error:
            refused += 1
            modeladmin.message_user(request, f"{profile}: {error.detail}", messages.WARNING)
    modeladmin.message_user(
        request,
        f"{ended} session(s) ended; the client signs in again on every device.",
        messages.SUCCESS if not refused else messages.WARNING,
    )


@admin.register(ClientProfile)
class ClientProfileAdmin(ReadOnlyScopedAdmin):
    list_display = ["given_name", "family_name", "email", "entity", "brand", "status", "created_at"]
    list_filter = ["entity", "status", "brand"]
    search_fields = [
        "given_name",
        "family_name",
        "given_name_latin",
        "family_name_latin",
        "email",
        "email_canonical",
        "phone",
    ]
    exclude = ["device_fingerprint"]
    readonly_fields = ["signed_in_sessions", "audit_trail"]
    actions = [end_client_sessions]

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        # Support reads the sessions beside the status, not under the address.
        moved = ("signed_in_sessions", "audit_trail")
        fields = [f for f in super().get_fields(request, obj) if f not in moved]
        at = fields.index("status_reason") + 1 if "status_reason" in fields else 0
        return [*fields[:at], *moved, *fields[at:]]

    @admin.display(description="Audit trail")
    def audit_trail(self, profile: ClientProfile) -> str:
        if profile.pk is None:
            return "—"
        url = f"{reverse('admin:audit_auditevent_changelist')}?person_id={profile.person_id}"
        return format_html('<a href="{}">Audit trail of this client</a>', url)

    @admin.display(description="Signed-in sessions")
    def signed_in_sessions(self, profile: ClientProfile) -> str:
        sessions = logins.client_sessions(profile=profile)
        if not sessions:
            return "none"
        return f"{len(sessions)}, the latest since {sessions[0].created:%Y-%m-%d %H:%M} UTC"

    def get_actions(self, request: HttpRequest) -> Any:
        actions = super().get_actions(request)
        if scope_for(request.user, "identity.end_sessions_clientprofile").is_empty:
            actions.pop("end_client_sessions", None)
        return actions


@admin.register(IdentityDocument)
class IdentityDocumentAdmin(ReadOnlyScopedAdmin):
    list_display = ["profile", "doc_type", "masked_number", "issuing_country", "expires_on"]
    list_filter = ["entity", "doc_type"]
    exclude = ["number", "number_index"]
    readonly_fields = ["masked_number"]

    @admin.display(description="Number")
    def masked_number(self, document: IdentityDocument) -> str:
        return masked(document.number)


@admin.register(MatchDecision)
class MatchDecisionAdmin(ReadOnlyScopedAdmin):
    list_display = ["created_at", "entity", "brand", "outcome", "confidence", "ruleset"]
    list_filter = ["entity", "outcome"]
    evidence_fields = ("explanation",)


def _decide(decision: str):  # type: ignore[no-untyped-def]
    def run(modeladmin: DuplicateCaseAdmin, request: HttpRequest, queryset: QuerySet) -> None:
        done = 0
        for case in queryset:
            try:
                services.duplicate_case_decide(
                    actor=request.user,
                    case=case,
                    decision=decision,
                    reason=f"{decision} in the back office",
                )
                done += 1
            except ApplicationError as error:
                messages.error(request, f"Case {case.pk}: {error.detail} ({error.code})")
        if done:
            messages.success(request, f"{done} case(s) decided: {decision}.")

    run.__name__ = f"decide_{decision}"
    run.short_description = {  # type: ignore[attr-defined]
        "link": "Link: same person (merge)",
        "distinct": "Distinct people",
        "block": "Block the registration",
    }[decision]
    return run


@admin.register(DuplicateCase)
class DuplicateCaseAdmin(ReadOnlyScopedAdmin):
    list_display = ["created_at", "entity", "profile", "candidate", "confidence", "status"]
    list_filter = ["entity", "status"]
    list_select_related = ["entity", "profile", "candidate"]
    evidence_fields = ("explanation",)
    actions = [_decide("link"), _decide("distinct"), _decide("block")]

    def get_actions(self, request: HttpRequest) -> Any:
        actions = super().get_actions(request)
        if scope_for(request.user, "identity.review_duplicatecase").is_empty:
            return {}
        return actions


@admin.register(Person)
class PersonAdmin(HiddenIsNotFoundMixin, ReadOnlyAdminMixin, ModelAdmin):
    """Group-level persons, visible to staff of an entity where the person is a client."""

    list_display = [
        "__str__",
        "birth_date",
        "status",
        "aml_blocked",
        "sanctions_hit",
        "pep",
        "risk_level",
    ]
    list_filter = ["status", "aml_blocked", "risk_level"]
    search_fields = ["family_name", "given_name", "public_id"]

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        scope = scope_for(request.user, "identity.view_person")
        if scope.everything:
            return super().get_queryset(request)
        visible_profiles = ClientProfile.objects.within(scope).values("person_id")
        return super().get_queryset(request).filter(pk__in=visible_profiles)

    def has_module_permission(self, request: HttpRequest) -> bool:
        return not scope_for(request.user, "identity.view_person").is_empty

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self.has_module_permission(request)


@admin.register(BrandApiKey)
class BrandApiKeyAdmin(ScopedAdmin):
    list_display = ["name", "brand", "prefix", "active", "created_at", "last_used_at"]
    list_filter = ["entity", "active"]
    fields = ["name", "active"]
    readonly_fields = ["prefix"]

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # keys are issued with `manage.py brand_api_key`, which shows the secret once


@admin.action(description="Acknowledge: taken note of the other profile")
def acknowledge_notices(
    modeladmin: ProfileNoticeAdmin, request: HttpRequest, queryset: QuerySet
) -> None:
    done = 0
    for notice in queryset:
        try:
            services.profile_notice_acknowledge(actor=request.user, notice_id=notice.pk)
            done += 1
        except ApplicationError as error:
            messages.error(request, f"Notice {notice.pk}: {error.detail} ({error.code})")
    if done:
        messages.success(request, f"{done} notice(s) acknowledged.")


@admin.register(ProfileNotice)
class ProfileNoticeAdmin(ReadOnlyScopedAdmin):
    """A client of this entity has a profile at another entity: shown as oversight allows,
    the other entity's code and the profile's status, never a link to its rows."""

    list_display = [
        "created_at",
        "entity",
        "client",
        "other_entity",
        "other_status",
        "acknowledged_at",
    ]
    list_filter = ["entity", ("acknowledged_at", admin.EmptyFieldListFilter)]
    fields = [
        "entity",
        "client",
        "other_entity",
        "other_status",
        "created_at",
        "acknowledged_at",
        "acknowledged_by",
    ]
    readonly_fields = fields
    actions = [acknowledge_notices]

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return (
            super()
            .get_queryset(request)
            .select_related("entity", "profile", "other_profile__entity", "acknowledged_by")
        )

    @admin.display(description="Client")
    def client(self, notice: ProfileNotice) -> str:
        return f"{notice.profile.given_name} {notice.profile.family_name}"

    @admin.display(description="Also a client of")
    def other_entity(self, notice: ProfileNotice) -> str:
        return notice.other_profile.entity.code

    @admin.display(description="Status there")
    def other_status(self, notice: ProfileNotice) -> str:
        return notice.other_profile.get_status_display()

    def get_actions(self, request: HttpRequest) -> Any:
        actions = super().get_actions(request)
        if scope_for(request.user, "identity.change_profilenotice").is_empty:
            return {}
        return actions
