from __future__ import annotations

from rest_framework import serializers

from brokercrm.api.base import ScopedPrimaryKeyField
from brokercrm.api.fields import AmountField
from brokercrm.reference import CURRENCY_CHOICES

from ..models import (
    BankAccount,
    Deposit,
    DepositAttempt,
    ReconciliationBreak,
    Withdrawal,
    WithdrawalLeg,
)


class DepositAttemptSerializer(serializers.ModelSerializer):
    merchant_account = serializers.CharField(source="merchant_account.code")

    class Meta:
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


class DepositSerializer(serializers.ModelSerializer):
    amount = AmountField()
    method = serializers.CharField(source="method.code")
    attempts = serializers.SerializerMethodField()

    class Meta:
        model = Deposit
        fields = [
            "id",
            "entity",
            "profile",
            "wallet",
            "amount",
            "currency",
            "method",
            "instrument_label",
            "status",
            "decline_code",
            "alternatives",
            "journal",
            "created_at",
            "attempts",
        ]

    def get_attempts(self, deposit: Deposit) -> list[dict]:
        rows = DepositAttempt.objects.in_entity(deposit.entity_id).filter(deposit=deposit)
        return DepositAttemptSerializer(rows.select_related("merchant_account"), many=True).data


class DepositCreateSerializer(serializers.Serializer):
    profile = ScopedPrimaryKeyField(model="identity.ClientProfile", perm="payments.add_deposit")
    amount = AmountField()
    currency = serializers.ChoiceField(CURRENCY_CHOICES)
    method = serializers.SlugField(max_length=30)
    instrument = serializers.DictField(child=serializers.CharField(max_length=64))


class WithdrawalLegSerializer(serializers.ModelSerializer):
    amount = AmountField()
    payout_amount = AmountField(allow_null=True)

    class Meta:
        model = WithdrawalLeg
        fields = [
            "number",
            "destination",
            "amount",
            "payout_amount",
            "reference",
            "psp_transaction_id",
            "status",
            "decline_code",
        ]


class WithdrawalSerializer(serializers.ModelSerializer):
    amount = AmountField()
    legs = serializers.SerializerMethodField()

    class Meta:
        model = Withdrawal
        fields = [
            "id",
            "entity",
            "profile",
            "wallet",
            "amount",
            "currency",
            "payout_currency",
            "fx_rate",
            "fx_source",
            "status",
            "approval_needed",
            "risk_level",
            "withdrawal_ruleset",
            "finance_approver",
            "compliance_approver",
            "requested_label",
            "decision_reason",
            "created_at",
            "legs",
        ]

    def get_legs(self, withdrawal: Withdrawal) -> list[dict]:
        rows = WithdrawalLeg.objects.in_entity(withdrawal.entity_id).filter(withdrawal=withdrawal)
        return WithdrawalLegSerializer(rows, many=True).data


class WithdrawalCreateSerializer(serializers.Serializer):
    profile = ScopedPrimaryKeyField(model="identity.ClientProfile", perm="payments.add_withdrawal")
    amount = AmountField()
    currency = serializers.ChoiceField(CURRENCY_CHOICES)
    payout_currency = serializers.ChoiceField(CURRENCY_CHOICES, required=False)
    bank_account = ScopedPrimaryKeyField(
        model=BankAccount, perm="payments.view_bankaccount", required=False
    )


WITHDRAWAL_DECISIONS = [("approve", "Approve"), ("reject", "Reject")]


class WithdrawalDecisionSerializer(serializers.Serializer):
    decision = serializers.ChoiceField(WITHDRAWAL_DECISIONS)
    reason = serializers.CharField(max_length=1000)


class ReconciliationBreakSerializer(serializers.ModelSerializer):
    class Meta:
        model = ReconciliationBreak
        fields = [
            "id",
            "entity",
            "run",
            "kind",
            "psp_transaction_id",
            "reference",
            "currency",
            "settled_amount",
            "ledger_amount",
            "detail",
            "status",
            "resolution_journal",
            "resolved_by",
            "resolution_note",
            "created_at",
        ]


class ResolveSerializer(serializers.Serializer):
    note = serializers.CharField(max_length=1000)
    adjustment = AmountField(required=False)


class BankAccountSerializer(serializers.ModelSerializer):
    iban = serializers.SerializerMethodField()

    class Meta:
        model = BankAccount
        fields = ["id", "entity", "profile", "iban", "bic", "holder", "verified", "created_at"]

    def get_iban(self, account: BankAccount) -> str:
        return str(account)  # masked: staff never need the full number on screen


class BankAccountCreateSerializer(serializers.Serializer):
    profile = ScopedPrimaryKeyField(model="identity.ClientProfile", perm="payments.add_bankaccount")
    iban = serializers.CharField(max_length=50)
    bic = serializers.CharField(max_length=20, required=False, allow_blank=True)
    holder = serializers.CharField(max_length=200)


class BankAccountVerifySerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=1000)
