from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import path, reverse
from django.utils.html import format_html
from unfold.admin import ModelAdmin, TabularInline

from brokercrm.admin import ReadableFieldsMixin, ReadOnlyAdminMixin, ScopedAdmin
from brokercrm.errors import ApplicationError

from .admin_decisions import decide_response
from .models import REVISION_REASONS, KycCheck, KycDocument, KycFile, ScreeningListVersion
from .services import document_read, document_revision_request
from .services.decisions import OPEN_FOR_DECISION
from .uploads import INLINE_TYPES


class KycCheckInline(ReadableFieldsMixin, TabularInline):
    model = KycCheck
    evidence_fields = ("evidence",)
    fields = ["kind", "provider", "result", "evidence", "created_at"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def get_queryset(self, request):  # type: ignore[no-untyped-def]
        return (
            KycCheck.objects.unscoped()
        )  # the file is already scoped; its checks share its entity

    def has_add_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False


@admin.register(KycFile)
class KycFileAdmin(ReadOnlyAdminMixin, ScopedAdmin):
    list_display = [
        "pk",
        "profile",
        "entity",
        "status",
        "risk_level",
        "risk_score",
        "submitted_at",
        "decided_at",
    ]
    list_filter = ["entity", "status", "risk_level"]
    list_select_related = ["profile", "entity"]
    readonly_fields = ["decision_link", "edd_summary", "appropriateness_summary", "review_summary"]
    evidence_fields = ("questionnaire", "risk_breakdown")
    inlines = [KycCheckInline]

    def get_urls(self) -> list[Any]:
        decide = self.admin_site.admin_view(decide_response(self))
        return [
            path("<path:object_id>/decide/", decide, name="kyc_kycfile_decide"),
            *super().get_urls(),
        ]

    @admin.display(description="Decision")
    def decision_link(self, obj: KycFile) -> str:
        url = reverse("admin:kyc_kycfile_decide", args=[obj.pk])
        label = "Decide this file" if obj.status in OPEN_FOR_DECISION else "Decision and evidence"
        return format_html('<a class="bo-button" href="{}">{}</a>', url, label)

    def _latest_checks(self, obj: KycFile) -> dict[str, KycCheck]:
        latest: dict[str, KycCheck] = {}
        for check in KycCheck.objects.in_entity(obj.entity_id).filter(kyc_file=obj):
            latest.setdefault(check.kind, check)  # ordered by kind, newest first
        return latest

    @admin.display(description="EDD triggers")
    def edd_summary(self, obj: KycFile) -> str:
        return "; ".join(t.get("detail", t.get("code", "")) for t in obj.edd_triggers) or "—"

    @admin.display(description="Appropriateness")
    def appropriateness_summary(self, obj: KycFile) -> str:
        check = self._latest_checks(obj).get(KycCheck.Kind.APPROPRIATENESS)
        if check is None:
            return "not asked"
        e = check.evidence
        return (
            f"{check.get_result_display()}: {e.get('score')} of {e.get('max_score')} "
            f"(pass mark {e.get('pass_mark')}, {e.get('mode')})"
        )

    @admin.display(description="Holding the file")
    def review_summary(self, obj: KycFile) -> str:
        reasons = [
            f"{check.get_kind_display()} ({check.result}): {check.evidence.get('reason', '')}"
            for check in self._latest_checks(obj).values()
            if check.result != KycCheck.Result.PASS
        ]
        return "; ".join(reasons) or "—"


@admin.register(KycDocument)
class KycDocumentAdmin(ReadOnlyAdminMixin, ScopedAdmin):
    list_display = [
        "pk",
        "kyc_file",
        "kind",
        "doc_type",
        "version",
        "content_type",
        "size",
        "expires_on",
        "review_status",
        "review_reason_code",
    ]
    list_filter = ["entity", "kind", "review_status"]
    exclude = ["storage_name"]
    actions = [f"send_back_{code}" for code in REVISION_REASONS if code != "other"]

    def get_urls(self) -> list[Any]:
        file_view = self.admin_site.admin_view(self.file_view)
        return [
            path("<int:document_id>/file/", file_view, name="kyc_kycdocument_file"),
            *super().get_urls(),
        ]

    def file_view(self, request: HttpRequest, document_id: int) -> HttpResponse:
        """The document itself, for a preview or a download; every read is audited. A document
        outside the user's scope answers 404, as its change page does."""
        document = self.get_object(request, str(document_id))
        try:
            data = document_read(actor=request.user, document=document)
        except ApplicationError as error:
            raise Http404("Not found.") from error
        response = HttpResponse(data, content_type=document.content_type)
        disposition = "inline" if document.content_type in INLINE_TYPES else "attachment"
        response["Content-Disposition"] = (
            f'{disposition}; filename="kyc-{document.pk}-v{document.version}"'
        )
        response["X-Content-Type-Options"] = "nosniff"
        response["Cache-Control"] = "private, no-store"
        return response

    def _send_back(self, request: HttpRequest, queryset: QuerySet, reason_code: str) -> None:
        sent = 0
        for document in queryset:
            try:
                document_revision_request(
                    actor=request.user, document=document, reason_code=reason_code
                )
                sent += 1
            except ApplicationError as error:
                messages.error(request, f"{document}: {error.detail} ({error.code})")
        if sent:
            messages.success(request, f"{sent} document(s) sent back to the client.")


def _send_back_action(reason_code: str) -> Any:
    def action(self: KycDocumentAdmin, request: HttpRequest, queryset: QuerySet) -> None:
        self._send_back(request, queryset, reason_code)

    action.__name__ = f"send_back_{reason_code}"
    return admin.action(description=f"Send back to the client: {reason_code.replace('_', ' ')}")(
        action
    )


for _code in REVISION_REASONS:
    if _code != "other":
        setattr(KycDocumentAdmin, f"send_back_{_code}", _send_back_action(_code))


@admin.register(ScreeningListVersion)
class ScreeningListVersionAdmin(ReadOnlyAdminMixin, ModelAdmin):
    list_display = ["source", "entries", "skipped_lines", "loaded_at"]
