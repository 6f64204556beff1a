from __future__ import annotations

from django.contrib import admin

from brokercrm.admin import ReadOnlyAdminMixin, ScopedAdmin

from .models import FxRate, Hold, JournalEntry, LedgerAccount, Posting


@admin.register(LedgerAccount)
class LedgerAccountAdmin(ReadOnlyAdminMixin, ScopedAdmin):
    list_display = ["__str__", "entity", "kind", "currency", "balance", "held", "available"]
    list_filter = ["entity", "kind", "currency"]
    search_fields = ["name", "profile__email_canonical"]


class PostingInline(admin.TabularInline):
    model = Posting
    fields = ["account", "amount", "currency"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def get_queryset(self, request):  # type: ignore[no-untyped-def]
        # The journal itself is already scoped; its postings belong to the same entity.
        return Posting.objects.unscoped().select_related("account")

    def has_add_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False


@admin.register(JournalEntry)
class JournalEntryAdmin(ReadOnlyAdminMixin, ScopedAdmin):
    list_display = ["pk", "created_at", "entity", "type", "reference", "actor_label"]
    list_filter = ["entity", "type"]
    search_fields = ["idempotency_key", "reference"]
    inlines = [PostingInline]


@admin.register(Hold)
class HoldAdmin(ReadOnlyAdminMixin, ScopedAdmin):
    list_display = [
        "pk",
        "created_at",
        "entity",
        "account",
        "amount",
        "currency",
        "status",
        "purpose",
    ]
    list_filter = ["entity", "status", "purpose"]


@admin.register(FxRate)
class FxRateAdmin(admin.ModelAdmin):
    """Group reference data, maintained by whoever holds the global FX permission."""

    list_display = ["base", "quote", "rate", "source", "as_of"]
    list_filter = ["base", "quote", "source"]
