"""The client's own money in and out, under /api/v1/me/ (the client token of a brand's front
end): deposit methods, deposits on the PSP's hosted page, withdrawals with every block
explained first, and bank accounts. Another client's ids read as 404."""

from __future__ import annotations

import hashlib

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from brokercrm.api.client import ClientAPIView, ClientViewSet
from brokercrm.api.idempotency import IDEMPOTENCY_HEADER, idempotency_key_from
from brokercrm.errors import NotFound, ValidationFailed
from brokercrm.money import money
from brokercrm.reference import CURRENCY_MINOR_UNITS

from .. import selectors, services
from ..models import BankAccount, Deposit, PaymentMethod, Withdrawal
from . import client_serializers as s

CURRENCY = OpenApiParameter("currency", str, required=True, description="ISO 4217, e.g. EUR")


def _currency(request: Request) -> str:
    currency = request.query_params.get("currency", "")
    if currency not in CURRENCY_MINOR_UNITS:
        raise ValidationFailed("Give currency=XXX, an ISO 4217 code.", code="currency_invalid")
    return currency


def _key(request: Request, profile_id: int) -> str:
    """Keys are unique per entity: each client's keys live in a space of their own (a long
    key is kept by its digest, so any 1-100 character key fits)."""
    key = idempotency_key_from(request)
    scoped = f"me:{profile_id}:{key}"
    if len(scoped) > 100:
        scoped = f"me:{profile_id}:#{hashlib.sha256(key.encode()).hexdigest()[:48]}"
    return scoped


class MyDepositMethodsView(ClientAPIView):
    @extend_schema(parameters=[CURRENCY], responses=s.DepositMethodsSerializer)
    def get(self, request: Request) -> Response:
        """The deposit methods open to me in this currency: my entity's routes for my country
        of residence, with the amounts they accept. Cards are paid on the hosted page."""
        currency = _currency(request)
        methods = selectors.deposit_methods(profile=self.profile, currency=currency)
        data = {
            "country": self.profile.residence_country,
            "currency": currency,
            "methods": [method.__dict__ for method in methods],
        }
        return Response(s.DepositMethodsSerializer(data).data)


class MyDepositViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ClientViewSet):
    """My deposits, newest first."""

    base_queryset = Deposit.objects.select_related("method")
    serializer_class = s.MyDepositSerializer

    @extend_schema(
        request=s.MyDepositCreateSerializer,
        responses={201: s.MyDepositSerializer},
        parameters=[IDEMPOTENCY_HEADER],
    )
    def create(self, request: Request) -> Response:
        """Deposit. A card is paid on the PSP's hosted page: send the payer to `redirect_url`;
        they come back to `return_url` with `?reference=…&status=…`, and the deposit is
        credited when the PSP confirms it to us (read it back here). Other methods take an
        `instrument` (a bank wire its IBAN)."""
        key = _key(request, self.profile_id)
        data = s.MyDepositCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        method = PaymentMethod.objects.filter(code=values["method"]).first()
        if method is not None and method.kind == PaymentMethod.Kind.CARD:
            deposit = services.deposit_checkout_create(
                actor=self.actor,
                profile=self.profile,
                amount=values["amount"],
                currency=values["currency"],
                method=values["method"],
                return_url=values.get("return_url", ""),
                idempotency_key=key,
            )
        else:
            deposit = services.deposit_create(
                actor=self.actor,
                profile=self.profile,
                amount=values["amount"],
                currency=values["currency"],
                method=values["method"],
                instrument=values["instrument"],
                idempotency_key=key,
            )
        return Response(self.get_serializer(deposit).data, status=status.HTTP_201_CREATED)


class MyWithdrawalViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ClientViewSet):
    """My withdrawals with their legs (card refunds first, the rest to my bank account)."""

    base_queryset = Withdrawal.objects.all()
    serializer_class = s.MyWithdrawalSerializer

    @extend_schema(
        parameters=[
            CURRENCY,
            OpenApiParameter("payout_currency", str, description="default: the wallet's"),
            OpenApiParameter("amount", str, description="the amount I mean to withdraw"),
        ],
        responses=s.EligibilitySerializer,
    )
    @action(detail=False, methods=["get"])
    def eligibility(self, request: Request) -> Response:
        """Whether I may withdraw from my wallet in `currency` now, and every reason not
        (`cooling_off` with `until`, `kyc_not_approved`, holds, `bank_account_missing`,
        `insufficient_funds`, `no_route`...), with the rate a cross-currency payout uses."""
        query = s.EligibilityQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        values = query.validated_data
        amount = values.get("amount")
        result = selectors.withdrawal_eligibility(
            profile=self.profile,
            currency=values["currency"],
            payout_currency=values.get("payout_currency"),
            amount=None if amount is None else money(amount),
        )
        data = {
            **result.__dict__,
            "eligible": result.eligible,
            "quote": result.quote.__dict__ if result.quote else None,
            "blocks": [block.__dict__ for block in result.blocks],
        }
        return Response(s.EligibilitySerializer(data).data)

    @extend_schema(
        request=s.MyWithdrawalCreateSerializer,
        responses={201: s.MyWithdrawalSerializer},
        parameters=[IDEMPOTENCY_HEADER],
    )
    def create(self, request: Request) -> Response:
        """Withdraw from my wallet in `currency`, paid out in `payout_currency` (at the rate
        the eligibility quote showed: give it as `quoted_rate`, a changed rate is refused
        `rate_changed`), to one of my verified bank accounts."""
        key = _key(request, self.profile_id)
        data = s.MyWithdrawalCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        bank_account = None
        if "bank_account" in values:
            bank_account = (
                BankAccount.objects.in_entity(self.entity_id)
                .filter(profile_id=self.profile_id, pk=values["bank_account"])
                .first()
            )
            if bank_account is None:
                raise NotFound("You have no such bank account.", code="bank_account_not_found")
        withdrawal = services.withdrawal_request(
            actor=self.actor,
            profile=self.profile,
            amount=values["amount"],
            currency=values["currency"],
            payout_currency=values.get("payout_currency"),
            bank_account=bank_account,
            quoted_rate=values.get("quoted_rate"),
            idempotency_key=key,
        )
        return Response(self.get_serializer(withdrawal).data, status=status.HTTP_201_CREATED)


class MyBankAccountViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ClientViewSet):
    """My payout accounts: in my own name, paid to once verified by the broker."""

    base_queryset = BankAccount.objects.all()
    serializer_class = s.MyBankAccountSerializer

    @extend_schema(
        request=s.MyBankAccountCreateSerializer, responses={201: s.MyBankAccountSerializer}
    )
    def create(self, request: Request) -> Response:
        """Add a bank account (IBAN and BIC checked, holder my own name); refused with
        `bank_account_invalid` and a code per field in `fields`."""
        data = s.MyBankAccountCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        account = services.bank_account_add(
            actor=self.actor,
            profile=self.profile,
            iban=data.validated_data["iban"],
            bic=data.validated_data.get("bic", ""),
            holder=data.validated_data["holder"],
        )
        return Response(self.get_serializer(account).data, status=status.HTTP_201_CREATED)
