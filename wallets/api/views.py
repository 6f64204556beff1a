from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from brokercrm.api.base import ScopedViewSet, scoped
from brokercrm.api.idempotency import IDEMPOTENCY_HEADER, idempotency_key_from
from brokercrm.errors import NotFound, PermissionDenied
from brokercrm.scoping import scope_for
from entities.selectors import entities_visible_to

from .. import selectors, services
from ..models import JournalEntry, LedgerAccount
from . import serializers as s


class WalletViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedViewSet):
    base_queryset = LedgerAccount.objects.filter(
        kind=LedgerAccount.Kind.CLIENT_WALLET
    ).select_related("entity")
    view_permission = "wallets.view_ledgeraccount"
    serializer_class = s.WalletSerializer

    def filter_rows(self, queryset):  # type: ignore[no-untyped-def]
        profile = self.request.query_params.get("profile", "")
        if profile.isdigit() and len(profile) <= 18:
            queryset = queryset.filter(profile_id=int(profile))
        return queryset

    @extend_schema(request=s.WalletOpenSerializer, responses=s.WalletSerializer)
    def create(self, request: Request) -> Response:
        data = s.WalletOpenSerializer(data=request.data, context=self.get_serializer_context())
        data.is_valid(raise_exception=True)
        profile = data.validated_data["profile"]
        if not scope_for(request.user, "wallets.add_ledgeraccount").contains(profile):
            raise PermissionDenied(
                "You may not open wallets in this entity.", code="permission_denied"
            )
        wallet = services.wallet_open(profile=profile, currency=data.validated_data["currency"])
        return Response(s.WalletSerializer(wallet).data, status=status.HTTP_201_CREATED)

    @extend_schema(responses=s.StatementLineSerializer(many=True))
    @action(detail=True, methods=["get"])
    def statement(self, request: Request, pk: str | None = None) -> Response:
        """Every posting with the balance after it."""
        wallet = self.get_object()
        lines = selectors.account_statement(account=wallet)
        return Response(s.StatementLineSerializer(lines, many=True).data)


class JournalViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedViewSet):
    base_queryset = JournalEntry.objects.select_related("entity")
    view_permission = "wallets.view_journalentry"
    serializer_class = s.JournalSerializer


def _visible_wallet(request: Request, pk: int) -> LedgerAccount:
    wallet = scoped(
        LedgerAccount.objects.filter(pk=pk, kind=LedgerAccount.Kind.CLIENT_WALLET),
        scope_for(request.user, "wallets.view_ledgeraccount"),
    ).first()
    if wallet is None:
        raise NotFound(f"No wallet {pk}.", code="wallet_not_found")
    return wallet


class TransferView(APIView):
    """Move money between two wallets of one client (converting if the currencies differ)."""

    @extend_schema(
        request=s.TransferSerializer,
        responses={201: s.JournalSerializer},
        parameters=[IDEMPOTENCY_HEADER],
    )
    def post(self, request: Request) -> Response:
        key = idempotency_key_from(request)
        data = s.TransferSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        source = _visible_wallet(request, data.validated_data["source"])
        target = _visible_wallet(request, data.validated_data["target"])
        if not scope_for(request.user, "wallets.transfer_ledgeraccount").contains(source):
            raise PermissionDenied(
                "You may not move money in this entity.", code="permission_denied"
            )
        journal = services.wallet_transfer(
            actor=request.user,
            source=source,
            target=target,
            amount=data.validated_data["amount"],
            idempotency_key=f"api:transfer:{key}",
        )
        return Response(s.JournalSerializer(journal).data, status=status.HTTP_201_CREATED)


class TrialBalanceView(APIView):
    """Per entity and currency, the balances of each account kind; every currency nets to 0."""

    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request: Request) -> Response:
        entities = entities_visible_to(request.user, "wallets.view_journalentry").order_by("code")
        return Response(
            {
                entity.code: {
                    currency: {kind: str(total) for kind, total in kinds.items()}
                    for currency, kinds in selectors.trial_balance(entity=entity).items()
                }
                for entity in entities
            }
        )
