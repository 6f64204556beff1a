"""Staff UI: configuration, deposits, the withdrawal approval queue and the reconciliation
breaks queue, each scoped by entity; decisions go through the services (audited)."""

from __future__ import annotations

from django.contrib import admin, messages
from unfold.admin import ModelAdmin

from brokercrm.admin import ReadOnlyAdminMixin, ReadOnlyChildInline, ScopedAdmin
from brokercrm.errors import ApplicationError

from . import services
from .models import (
    BankAccount,
    Deposit,
    DepositAttempt,
    MerchantAccount,
    PaymentMethod,
    PaymentProvider,
    ReconciliationBreak,
    ReconciliationRun,
    RoutingRule,
    RoutingTarget,
    WebhookEvent,
    Withdrawal,
    WithdrawalLeg,
)


def _each(modeladmin, request, queryset, call, done: str) -> None:  # type: ignore[no-untyped-def]
    count = 0
    for obj in queryset:
        try:
            call(obj)
            count += 1
        except ApplicationError as exc:
            modeladmin.message_user(request, f"{obj}: {exc.detail} ({exc.code})", messages.ERROR)
    if count:
        modeladmin.message_user(request, f"{count} {done}.", messages.SUCCESS)


@admin.register(PaymentProvider)
class PaymentProviderAdmin(ModelAdmin):
    list_display = ["code", "name", "base_url"]


@admin.register(PaymentMethod)
class PaymentMethodAdmin(ModelAdmin):
    list_display = ["code", "name", "kind", "countries"]


@admin.register(MerchantAccount)
class MerchantAccountAdmin(ReadOnlyAdminMixin, ScopedAdmin):
    list_display = [
        "code",
        "provider",
        "entity",
        "gateway_family",
        "currencies",
        "methods",
        "active",
    ]
    list_filter = ["entity", "provider", "active"]


class RoutingTargetInline(ReadOnlyChildInline):
    model = RoutingTarget
    fields = ["position", "merchant_account"]


@admin.register(RoutingRule)
class RoutingRuleAdmin(ReadOnlyAdminMixin, ScopedAdmin):
    list_display = [
        "name",
        "entity",
        "countries",
        "currency",
        "method",
        "min_amount",
        "max_amount",
        "priority",
        "soft_retries",
        "active",
    ]
    list_filter = ["entity", "currency", "method"]
    inlines = [RoutingTargetInline]


@admin.register(BankAccount)
class BankAccountAdmin(ReadOnlyAdminMixin, ScopedAdmin):
    list_display = ["pk", "profile", "entity", "holder", "verified", "created_at"]
    list_filter = ["entity", "verified"]
    exclude = ["iban"]
    readonly_fields = ["masked_iban"]

    actions = ["verify"]

    @admin.display(description="IBAN")
    def masked_iban(self, obj: BankAccount) -> str:
        return str(obj)

    @admin.action(description="Mark verified (the client owns the account)")
    def verify(self, request, queryset):  # type: ignore[no-untyped-def]
        _each(
            self,
            request,
            queryset,
            lambda account: services.bank_account_verify(
                actor=request.user, account=account, reason="verified in the back office"
            ),
            "verified",
        )


class DepositAttemptInline(ReadOnlyChildInline):
    model = DepositAttempt
    fields = [
        "number",
        "merchant_account",
        "reference",
        "psp_transaction_id",
        "status",
        "decline_code",
        "decline_category",
        "created_at",
    ]


@admin.register(Deposit)
class DepositAdmin(ReadOnlyAdminMixin, ScopedAdmin):
    list_display = [
        "pk",
        "profile",
        "entity",
        "amount",
        "currency",
        "method",
        "status",
        "decline_code",
        "created_at",
    ]
    list_filter = ["entity", "status", "currency", "method"]
    exclude = ["instrument_fingerprint", "request_hash"]
    inlines = [DepositAttemptInline]


class WithdrawalLegInline(ReadOnlyChildInline):
    model = WithdrawalLeg
    money_currency = {
        "amount": "withdrawal.currency",
        "payout_amount": "withdrawal.payout_currency",
    }
    fields = [
        "number",
        "destination",
        "amount",
        "payout_amount",
        "merchant_account",
        "reference",
        "psp_transaction_id",
        "status",
        "decline_code",
    ]


@admin.register(Withdrawal)
class WithdrawalAdmin(ReadOnlyAdminMixin, ScopedAdmin):
    list_display = [
        "pk",
        "profile",
        "entity",
        "amount",
        "currency",
        "payout_currency",
        "status",
        "approval_needed",
        "risk_level",
        "finance_approver",
        "compliance_approver",
        "created_at",
    ]
    list_filter = ["entity", "status", "approval_needed", "risk_level"]
    exclude = ["request_hash"]
    inlines = [WithdrawalLegInline]
    actions = ["approve", "reject"]

    @admin.action(description="Approve the selected withdrawals")
    def approve(self, request, queryset):  # type: ignore[no-untyped-def]
        _each(
            self,
            request,
            queryset,
            lambda w: services.withdrawal_approve(
                actor=request.user, withdrawal=w, reason="approved in the back office"
            ),
            "approved",
        )

    @admin.action(description="Reject the selected withdrawals (funds return to the wallet)")
    def reject(self, request, queryset):  # type: ignore[no-untyped-def]
        _each(
            self,
            request,
            queryset,
            lambda w: services.withdrawal_reject(
                actor=request.user, withdrawal=w, reason="rejected in the back office"
            ),
            "rejected",
        )


@admin.register(WebhookEvent)
class WebhookEventAdmin(ReadOnlyAdminMixin, ScopedAdmin):
    list_display = [
        "event_id",
        "merchant_account",
        "entity",
        "type",
        "psp_transaction_id",
        "outcome",
        "deliveries",
        "received_at",
    ]
    list_filter = ["entity", "type", "outcome"]


@admin.register(ReconciliationRun)
class ReconciliationRunAdmin(ReadOnlyAdminMixin, ScopedAdmin):
    list_display = [
        "day",
        "merchant_account",
        "entity",
        "lines",
        "matched",
        "breaks",
        "unexplained",
        "created_at",
    ]
    list_filter = ["entity", "day"]


@admin.register(ReconciliationBreak)
class ReconciliationBreakAdmin(ReadOnlyAdminMixin, ScopedAdmin):
    list_display = [
        "pk",
        "kind",
        "entity",
        "psp_transaction_id",
        "reference",
        "currency",
        "settled_amount",
        "ledger_amount",
        "status",
        "resolved_by",
    ]
    list_filter = ["entity", "status", "kind"]
    actions = ["resolve"]

    @admin.action(description="Mark resolved (no money moved)")
    def resolve(self, request, queryset):  # type: ignore[no-untyped-def]
        _each(
            self,
            request,
            queryset,
            lambda item: services.reconciliation_break_resolve(
                actor=request.user, item=item, note="resolved in the back office"
            ),
            "resolved",
        )
