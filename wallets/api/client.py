"""The client's own wallets under `/api/v1/me/wallets`: balances read from the ledger and the
statement of each wallet (postings with the balance after each, by date range, paginated)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from brokercrm.api.client import ClientViewSet
from brokercrm.api.pagination import Pagination
from brokercrm.errors import ValidationFailed
from brokercrm.gate import require

from .. import selectors, services
from ..models import LedgerAccount, Posting

MONEY_FIELD = {"max_digits": 24, "decimal_places": 8, "read_only": True}


class MyWalletSerializer(serializers.ModelSerializer):
    balance = serializers.DecimalField(source="ledger_balance", **MONEY_FIELD)
    held = serializers.DecimalField(source="ledger_held", **MONEY_FIELD)
    available = serializers.DecimalField(source="ledger_available", **MONEY_FIELD)
    status = serializers.SerializerMethodField()

    class Meta:
        model = LedgerAccount
        fields = ["id", "currency", "balance", "available", "held", "status", "created_at"]
        read_only_fields = fields

    def get_status(self, wallet: LedgerAccount) -> str:
        return "closed" if wallet.closed_at else "open"


class MyStatementLineSerializer(serializers.ModelSerializer):
    posting_id = serializers.IntegerField(source="id")
    journal_id = serializers.IntegerField()
    type = serializers.CharField(source="journal.type")
    reference = serializers.CharField(source="journal.reference")
    at = serializers.DateTimeField(source="journal.created_at")
    balance_after = serializers.DecimalField(**MONEY_FIELD)

    class Meta:
        model = Posting
        fields = [
            "posting_id",
            "journal_id",
            "type",
            "reference",
            "at",
            "amount",
            "currency",
            "balance_after",
        ]
        read_only_fields = fields


class StatementQuerySerializer(serializers.Serializer):
    date_from = serializers.DateTimeField(required=False)
    date_to = serializers.DateTimeField(required=False)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        since, until = attrs.get("date_from"), attrs.get("date_to")
        if since and until and since >= until:
            raise ValidationFailed("date_from must be before date_to.", code="date_range_invalid")
        return attrs


STATEMENT_PARAMETERS = [
    OpenApiParameter("date_from", str, description="ISO date or date-time, inclusive"),
    OpenApiParameter("date_to", str, description="ISO date or date-time, exclusive"),
    OpenApiParameter("page", int),
    OpenApiParameter("page_size", int),
]


class MyWalletViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ClientViewSet):
    """My wallets: balance (the sum of the wallet's postings), held (pending holds such as
    withdrawals in progress) and available (what may be spent or moved)."""

    base_queryset = selectors.wallets_with_ledger_figures()
    serializer_class = MyWalletSerializer
    not_found_code = "wallet_not_found"
    pagination_class = None

    @extend_schema(
        request=inline_serializer("ClientWalletOpen", {"currency": serializers.CharField()}),
        responses={201: MyWalletSerializer, 200: MyWalletSerializer},
    )
    def create(self, request: Request) -> Response:
        """Open a wallet in another currency my entity offers: 201, or 200 with the wallet I
        already hold; 400 `currency_not_offered`."""
        currency = request.data.get("currency") if isinstance(request.data, dict) else None
        if not isinstance(currency, str) or not currency.strip():
            raise ValidationFailed("Give the wallet's currency.", code="currency_required")
        wallet, opened = services.wallet_add(
            actor=self.actor, profile=self.profile, currency=currency.strip()[:3]
        )
        row = self.get_queryset().get(pk=wallet.pk)
        return Response(
            MyWalletSerializer(row).data,
            status=status.HTTP_201_CREATED if opened else status.HTTP_200_OK,
        )

    @extend_schema(parameters=STATEMENT_PARAMETERS, responses=MyStatementLineSerializer(many=True))
    @action(detail=True, methods=["get"])
    def statement(self, request: Request, pk: str | None = None) -> Response:
        """Postings of the wallet, oldest first, each with the balance after it."""
        wallet = self.get_object()
        require(self.actor, "wallets.view_ledgeraccount", wallet)
        query = StatementQuerySerializer(data=request.query_params)
        if not query.is_valid():
            raise ValidationFailed(
                "date_from and date_to are ISO dates or date-times (2026-03-01T00:00:00Z).",
                code="date_invalid",
                extra={"errors": query.errors},
            )
        lines = selectors.wallet_statement(
            account=wallet,
            since=query.validated_data.get("date_from"),
            until=query.validated_data.get("date_to"),
        )
        paginator = Pagination()
        page = paginator.paginate_queryset(lines, request, view=self)
        return paginator.get_paginated_response(MyStatementLineSerializer(page, many=True).data)
