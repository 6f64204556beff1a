from __future__ import annotations

from django.contrib import admin

from brokercrm.admin import ReadOnlyAdminMixin, ScopedAdmin

from .models import KycCheck, KycDocument, KycFile, ScreeningListVersion


class KycCheckInline(admin.TabularInline):
    model = KycCheck
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
    readonly_fields = ["edd_summary", "appropriateness_summary", "review_summary"]
    inlines = [KycCheckInline]

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
    ]
    list_filter = ["entity", "kind"]
    exclude = ["storage_name"]


@admin.register(ScreeningListVersion)
class ScreeningListVersionAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["source", "entries", "skipped_lines", "loaded_at"]
