from __future__ import annotations

from django.contrib import admin
from django.utils.html import format_html, format_html_join
from unfold.admin import ModelAdmin, TabularInline

from brokercrm.admin import ReadableFieldsMixin, ReadOnlyAdminMixin, ScopedAdmin
from brokercrm.backoffice.templatetags.backoffice import money_text

from .models import FxRate, Hold, JournalEntry, LedgerAccount, Posting
from .selectors import account_statement


@admin.register(LedgerAccount)
class LedgerAccountAdmin(ReadOnlyAdminMixin, ScopedAdmin):
    list_display = [
        "__str__",
        "entity",
        "kind",
        "currency",
        "balance",
        "held",
        "available_amount",
    ]
    list_filter = ["entity", "kind", "currency"]
    search_fields = ["name", "profile__email_canonical"]
    readonly_fields = ["available_amount", "statement"]

    @admin.display(description="Available")
    def available_amount(self, account: LedgerAccount) -> str:
        return money_text(account.available, account.currency)

    @admin.display(description="Statement (latest 50 postings, running balance)")
    def statement(self, account: LedgerAccount) -> str:
        lines = account_statement(account=account)[-50:]
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td style='text-align:right'>{}</td>"
            "<td style='text-align:right'>{}</td></tr>",
            (
                (
                    line["at"].strftime("%Y-%m-%d %H:%M"),
                    line["type"],
                    line["reference"],
                    money_text(line["amount"], account.currency),
                    money_text(line["balance_after"], account.currency),
                )
                for line in reversed(lines)
            ),
        )
        return format_html(
            "<table><tr><th>When</th><th>Type</th><th>Reference</th><th>Amount</th><th>Balance</th></tr>"
            "{}</table>",
            rows,
        )


class PostingInline(ReadableFieldsMixin, TabularInline):
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
class FxRateAdmin(ModelAdmin):
    """Group reference data, maintained by whoever holds the global FX permission."""

    list_display = ["base", "quote", "rate", "source", "as_of"]
    list_filter = ["base", "quote", "source"]
