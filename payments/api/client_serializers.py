"""What a client's front end sends and reads under /api/v1/me/ (deposits, withdrawals, bank
accounts): the client's own rows, without staff fields (approvers, rule-set references)."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from brokercrm.api.fields import AmountField
from brokercrm.reference import CURRENCY_CHOICES

from ..models import BankAccount, Deposit, DepositAttempt, Withdrawal, WithdrawalLeg


class MyDepositSerializer(serializers.ModelSerializer):
    amount = AmountField()
    method = serializers.CharField(source="method.code")
    reference = serializers.SerializerMethodField()
    redirect_url = serializers.SerializerMethodField()
    credited_amount = serializers.SerializerMethodField()
    parked = serializers.SerializerMethodField()
    alternatives = serializers.SerializerMethodField()

    class Meta:
        model = Deposit
        fields = [
            "id",
            "amount",
            "currency",
            "method",
            "instrument_label",
            "status",
            "reference",
            "redirect_url",
            "return_url",
            "credited_amount",
            "parked",
            "decline_code",
            "alternatives",
            "created_at",
            "updated_at",
        ]

    def get_reference(self, deposit: Deposit) -> str | None:
        attempt = (
            DepositAttempt.objects.in_entity(deposit.entity_id)
            .filter(deposit=deposit)
            .order_by("-number")
            .values_list("reference", flat=True)
            .first()
        )
        return attempt

    def get_redirect_url(self, deposit: Deposit) -> str | None:
        # Only while the payer still has something to do there.
        if deposit.status == Deposit.Status.AWAITING_PAYER:
            return deposit.redirect_url
        return None

    def get_credited_amount(self, deposit: Deposit) -> str | None:
        if deposit.status in (Deposit.Status.CREDITED, Deposit.Status.PARKED):
            return format(deposit.amount, "f")
        return None

    def get_parked(self, deposit: Deposit) -> bool:
        return deposit.status == Deposit.Status.PARKED

    def get_alternatives(self, deposit: Deposit) -> list[str]:
        return [code for code in deposit.alternatives if code != "parked"]


class MyDepositCreateSerializer(serializers.Serializer):
    amount = AmountField()
    currency = serializers.ChoiceField(CURRENCY_CHOICES)
    method = serializers.SlugField(max_length=30)
    return_url = serializers.CharField(max_length=2000, required=False, allow_blank=True)
    instrument = serializers.DictField(
        child=serializers.CharField(max_length=64), required=False, default=dict
    )


class DepositMethodSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    kind = serializers.CharField()
    currency = serializers.CharField()
    min_amount = serializers.DecimalField(max_digits=24, decimal_places=2)
    max_amount = serializers.DecimalField(max_digits=24, decimal_places=2, allow_null=True)
    hosted_page = serializers.BooleanField()


class DepositMethodsSerializer(serializers.Serializer):
    country = serializers.CharField()
    currency = serializers.CharField()
    methods = DepositMethodSerializer(many=True)


class MyWithdrawalLegSerializer(serializers.ModelSerializer):
    amount = AmountField()
    payout_amount = AmountField(allow_null=True)

    class Meta:
        model = WithdrawalLeg
        fields = ["number", "destination", "amount", "payout_amount", "status", "decline_code"]


class MyWithdrawalSerializer(serializers.ModelSerializer):
    amount = AmountField()
    legs = serializers.SerializerMethodField()

    class Meta:
        model = Withdrawal
        fields = [
            "id",
            "amount",
            "currency",
            "payout_currency",
            "fx_rate",
            "status",
            "created_at",
            "updated_at",
            "legs",
        ]

    def get_legs(self, withdrawal: Withdrawal) -> list[dict[str, Any]]:
        rows = WithdrawalLeg.objects.in_entity(withdrawal.entity_id).filter(withdrawal=withdrawal)
        return MyWithdrawalLegSerializer(rows, many=True).data


class MyWithdrawalCreateSerializer(serializers.Serializer):
    amount = AmountField()
    currency = serializers.ChoiceField(CURRENCY_CHOICES, help_text="the wallet's currency")
    payout_currency = serializers.ChoiceField(CURRENCY_CHOICES, required=False)
    bank_account = serializers.IntegerField(min_value=1, max_value=10**17, required=False)
    quoted_rate = serializers.DecimalField(
        max_digits=24,
        decimal_places=10,
        required=False,
        help_text="the rate the eligibility quote showed; a changed rate is refused",
    )


class EligibilityQuerySerializer(serializers.Serializer):
    currency = serializers.ChoiceField(CURRENCY_CHOICES)
    payout_currency = serializers.ChoiceField(CURRENCY_CHOICES, required=False)
    amount = AmountField(required=False)


class BlockSerializer(serializers.Serializer):
    code = serializers.CharField()
    detail = serializers.CharField()
    until = serializers.DateTimeField(allow_null=True)


class PayoutQuoteSerializer(serializers.Serializer):
    base = serializers.CharField()
    quote = serializers.CharField()
    rate = serializers.DecimalField(max_digits=24, decimal_places=10)
    mid = serializers.DecimalField(max_digits=24, decimal_places=10)
    markup_bps = serializers.IntegerField()
    source = serializers.CharField()
    as_of = serializers.CharField()


class EligibilitySerializer(serializers.Serializer):
    currency = serializers.CharField()
    payout_currency = serializers.CharField()
    eligible = serializers.BooleanField()
    balance = serializers.DecimalField(max_digits=24, decimal_places=8)
    available = serializers.DecimalField(max_digits=24, decimal_places=8)
    card_refundable = serializers.DecimalField(max_digits=24, decimal_places=8)
    bank_accounts = serializers.ListField(child=serializers.IntegerField())
    quote = PayoutQuoteSerializer(allow_null=True)
    blocks = BlockSerializer(many=True)


class MyBankAccountSerializer(serializers.ModelSerializer):
    iban = serializers.SerializerMethodField()

    class Meta:
        model = BankAccount
        fields = ["id", "iban", "bic", "holder", "verified", "created_at"]

    def get_iban(self, account: BankAccount) -> str:
        return str(account)  # masked: the front end never needs the full number back


class MyBankAccountCreateSerializer(serializers.Serializer):
    iban = serializers.CharField(max_length=50)
    bic = serializers.CharField(max_length=20, required=False, allow_blank=True)
    holder = serializers.CharField(max_length=200)
