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
    inlines = [KycCheckInline]


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
