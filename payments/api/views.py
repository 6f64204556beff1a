from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from brokercrm.api.base import ScopedViewSet
from brokercrm.api.idempotency import IDEMPOTENCY_HEADER, idempotency_key_from
from brokercrm.api.webhooks import SignedWebhookView

from .. import services
from ..models import BankAccount, Deposit, ReconciliationBreak, Withdrawal
from . import serializers as s


class DepositViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedViewSet):
    """Deposits of the entities the user may see; staff may start one for a client."""

    base_queryset = Deposit.objects.select_related("method")
    view_permission = "payments.view_deposit"
    serializer_class = s.DepositSerializer

    def filter_rows(self, queryset):  # type: ignore[no-untyped-def]
        wanted = self.request.query_params.get("status", "")
        return queryset.filter(status=wanted[:16]) if wanted else queryset

    @extend_schema(
        request=s.DepositCreateSerializer,
        responses={201: s.DepositSerializer},
        parameters=[IDEMPOTENCY_HEADER],
    )
    def create(self, request: Request) -> Response:
        key = idempotency_key_from(request)
        data = s.DepositCreateSerializer(data=request.data, context=self.get_serializer_context())
        data.is_valid(raise_exception=True)
        deposit = services.deposit_create(
            actor=request.user,
            profile=data.validated_data["profile"],
            amount=data.validated_data["amount"],
            currency=data.validated_data["currency"],
            method=data.validated_data["method"],
            instrument=data.validated_data["instrument"],
            idempotency_key=f"api:{key}",
        )
        return Response(s.DepositSerializer(deposit).data, status=status.HTTP_201_CREATED)


class WithdrawalViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedViewSet):
    """The withdrawal queue: request for a client, approve or reject."""

    base_queryset = Withdrawal.objects.all()
    view_permission = "payments.view_withdrawal"
    serializer_class = s.WithdrawalSerializer

    def filter_rows(self, queryset):  # type: ignore[no-untyped-def]
        wanted = self.request.query_params.get("status", "")
        return queryset.filter(status=wanted[:16]) if wanted else queryset

    @extend_schema(
        request=s.WithdrawalCreateSerializer,
        responses={201: s.WithdrawalSerializer},
        parameters=[IDEMPOTENCY_HEADER],
    )
    def create(self, request: Request) -> Response:
        key = idempotency_key_from(request)
        data = s.WithdrawalCreateSerializer(
            data=request.data, context=self.get_serializer_context()
        )
        data.is_valid(raise_exception=True)
        withdrawal = services.withdrawal_request(
            actor=request.user,
            profile=data.validated_data["profile"],
            amount=data.validated_data["amount"],
            currency=data.validated_data["currency"],
            payout_currency=data.validated_data.get("payout_currency"),
            bank_account=data.validated_data.get("bank_account"),
            idempotency_key=f"api:{key}",
        )
        return Response(s.WithdrawalSerializer(withdrawal).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=s.WithdrawalDecisionSerializer, responses=s.WithdrawalSerializer)
    @action(detail=True, methods=["post"])
    def decide(self, request: Request, pk: str | None = None) -> Response:
        withdrawal = self.get_object()
        data = s.WithdrawalDecisionSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        decide = (
            services.withdrawal_approve
            if data.validated_data["decision"] == "approve"
            else services.withdrawal_reject
        )
        withdrawal = decide(
            actor=request.user, withdrawal=withdrawal, reason=data.validated_data["reason"]
        )
        return Response(s.WithdrawalSerializer(withdrawal).data)


class BankAccountViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedViewSet):
    """Clients' payout accounts: added with a validated IBAN, paid to once verified."""

    base_queryset = BankAccount.objects.all()
    view_permission = "payments.view_bankaccount"
    serializer_class = s.BankAccountSerializer

    @extend_schema(request=s.BankAccountCreateSerializer, responses={201: s.BankAccountSerializer})
    def create(self, request: Request) -> Response:
        data = s.BankAccountCreateSerializer(
            data=request.data, context=self.get_serializer_context()
        )
        data.is_valid(raise_exception=True)
        account = services.bank_account_add(
            actor=request.user,
            profile=data.validated_data["profile"],
            iban=data.validated_data["iban"],
            bic=data.validated_data.get("bic", ""),
            holder=data.validated_data["holder"],
        )
        return Response(s.BankAccountSerializer(account).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=s.BankAccountVerifySerializer, responses=s.BankAccountSerializer)
    @action(detail=True, methods=["post"])
    def verify(self, request: Request, pk: str | None = None) -> Response:
        account = self.get_object()
        data = s.BankAccountVerifySerializer(data=request.data)
        data.is_valid(raise_exception=True)
        account = services.bank_account_verify(
            actor=request.user, account=account, reason=data.validated_data["reason"]
        )
        return Response(s.BankAccountSerializer(account).data)


class ReconciliationBreakViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedViewSet):
    """Finance's queue of reconciliation breaks."""

    base_queryset = ReconciliationBreak.objects.all()
    view_permission = "payments.view_reconciliationbreak"
    serializer_class = s.ReconciliationBreakSerializer

    def filter_rows(self, queryset):  # type: ignore[no-untyped-def]
        wanted = self.request.query_params.get("status", "")
        return queryset.filter(status=wanted[:8]) if wanted else queryset

    @extend_schema(request=s.ResolveSerializer, responses=s.ReconciliationBreakSerializer)
    @action(detail=True, methods=["post"])
    def resolve(self, request: Request, pk: str | None = None) -> Response:
        item = self.get_object()
        data = s.ResolveSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        item = services.reconciliation_break_resolve(
            actor=request.user,
            item=item,
            note=data.validated_data["note"],
            adjustment=data.validated_data.get("adjustment"),
        )
        return Response(s.ReconciliationBreakSerializer(item).data)


class PspWebhookView(SignedWebhookView):
    """A PSP's notifications for one merchant account: verified with that account's secret,
    recorded once, acted on once (a deposit credited, a payout settled)."""

    source = "psp"

    def secret_for(self, request: Request, **kwargs: Any) -> str:
        self.merchant = services.merchant_for_webhook(kwargs["merchant"])
        return services.merchant_webhook_secret(self.merchant)

    def handle_event(self, event: dict[str, Any], raw: bytes, **kwargs: Any) -> Response:
        signature = request_signature(self.request)
        outcome = services.psp_webhook_receive(
            merchant=self.merchant, event=event, signature=signature
        )
        return Response({"status": outcome})


def request_signature(request: Request) -> str:
    from brokercrm.signing import SIGNATURE_HEADER

    return request.headers.get(SIGNATURE_HEADER, "")
