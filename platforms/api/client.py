"""The client's own trading and transfers under `/api/v1/me/...`: the account types the
entity offers, opening demo and live accounts, their figures as last synced, their deals,
and transfers between the client's wallets and trading accounts (quoted, then confirmed)."""

from __future__ import annotations

import uuid
from typing import Any

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from brokercrm.api.client import ClientAPIView, ClientViewSet
from brokercrm.api.fields import AmountField
from brokercrm.api.idempotency import IDEMPOTENCY_HEADER, idempotency_key_from
from brokercrm.api.pagination import Pagination
from brokercrm.errors import NotFound, ValidationFailed
from wallets.selectors import client_wallet_by_id

from .. import selectors, services
from ..models import AccountType, Deal, TradingAccount, TradingServer, TransferQuote
from .views import OPTIONAL_IDEMPOTENCY_HEADER

MONEY = {"max_digits": 24, "decimal_places": 8, "read_only": True}
REFUSED = ("failed", "reversed")
# Named in SPECTACULAR_SETTINGS["ENUM_NAME_OVERRIDES"] (several fields are called "kind").
ACCOUNT_KINDS = [("demo", "Demo"), ("live", "Live")]
ENDPOINT_KINDS = [("wallet", "Wallet"), ("trading_account", "Trading account")]


# --- serializers ---------------------------------------------------------------------------


class OfferedAccountTypeSerializer(serializers.Serializer):
    type = serializers.CharField()
    kind = serializers.CharField()
    currency = serializers.CharField()
    leverage = serializers.IntegerField(allow_null=True)
    server_id = serializers.IntegerField()
    server = serializers.CharField()
    platform = serializers.CharField()


class MyTradingAccountSerializer(serializers.ModelSerializer):
    type = serializers.CharField(source="account_type")
    kind = serializers.SerializerMethodField()
    server = serializers.CharField(source="server.server_name")
    platform = serializers.CharField(source="server.kind")
    margin_level = serializers.DecimalField(allow_null=True, **MONEY)

    class Meta:
        model = TradingAccount
        fields = [
            "id",
            "login",
            "server",
            "platform",
            "type",
            "kind",
            "currency",
            "leverage",
            "balance",
            "credit",
            "equity",
            "margin",
            "free_margin",
            "margin_level",
            "status",
            "synced_at",
            "created_at",
        ]
        read_only_fields = fields

    def get_kind(self, account: TradingAccount) -> str:
        return "demo" if account.account_type == AccountType.DEMO else "live"


class MyAccountOpenSerializer(serializers.Serializer):
    type = serializers.ChoiceField(choices=AccountType.values)
    kind = serializers.ChoiceField(choices=ACCOUNT_KINDS)
    currency = serializers.CharField(min_length=3, max_length=3)
    server = serializers.IntegerField(min_value=1, max_value=10**18, required=False)
    leverage = serializers.IntegerField(min_value=1, max_value=1000, required=False)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        demo = attrs["type"] == AccountType.DEMO
        if demo != (attrs["kind"] == "demo"):
            raise ValidationFailed(
                "A demo account has type demo; a live one is standard or pro.",
                code="account_kind_mismatch",
            )
        attrs["currency"] = attrs["currency"].upper()
        return attrs


class MyDealSerializer(serializers.ModelSerializer):
    class Meta:
        model = Deal
        fields = [
            "ticket",
            "kind",
            "entry",
            "symbol",
            "volume",
            "price",
            "profit",
            "commission",
            "swap",
            "comment",
            "time",
            "position",
        ]
        read_only_fields = fields


class EndpointSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=ENDPOINT_KINDS)
    id = serializers.IntegerField(min_value=1, max_value=10**18)


class QuoteRequestSerializer(serializers.Serializer):
    # "from" is a Python keyword: declared under another name and renamed below.
    source = EndpointSerializer()
    to = EndpointSerializer()
    amount = AmountField()

    def get_fields(self) -> dict[str, Any]:
        fields = super().get_fields()
        fields["from"] = fields.pop("source")
        return fields


class QuoteSerializer(serializers.ModelSerializer):
    quote_id = serializers.UUIDField(source="token")
    source = serializers.SerializerMethodField(method_name="get_source")
    to = serializers.SerializerMethodField()

    class Meta:
        model = TransferQuote
        fields = [
            "quote_id",
            "kind",
            "source",
            "to",
            "from_amount",
            "from_currency",
            "to_amount",
            "to_currency",
            "rate",
            "expires_at",
        ]
        read_only_fields = fields

    def get_fields(self) -> dict[str, Any]:
        fields = super().get_fields()
        fields["from"] = fields.pop("source")
        return fields

    def get_source(self, quote: TransferQuote) -> dict[str, Any]:
        if quote.source_wallet_id:
            return {"kind": "wallet", "id": quote.source_wallet_id}
        return {"kind": "trading_account", "id": quote.source_account_id}

    def get_to(self, quote: TransferQuote) -> dict[str, Any]:
        if quote.target_wallet_id:
            return {"kind": "wallet", "id": quote.target_wallet_id}
        return {"kind": "trading_account", "id": quote.target_account_id}


class TransferResultSerializer(QuoteSerializer):
    status = serializers.SerializerMethodField()
    executed_at = serializers.DateTimeField()
    journal_id = serializers.SerializerMethodField()
    conversion_journal_id = serializers.SerializerMethodField()
    trading_transfer_id = serializers.IntegerField(allow_null=True)
    error = serializers.SerializerMethodField()

    class Meta(QuoteSerializer.Meta):
        fields = [
            *QuoteSerializer.Meta.fields,
            "status",
            "executed_at",
            "journal_id",
            "conversion_journal_id",
            "trading_transfer_id",
            "error",
        ]
        read_only_fields = fields

    def get_status(self, quote: TransferQuote) -> str:
        return quote.trading_transfer.status if quote.trading_transfer_id else "completed"

    def get_journal_id(self, quote: TransferQuote) -> int | None:
        if quote.trading_transfer_id:
            return quote.trading_transfer.journal_id
        return quote.journal_id

    def get_conversion_journal_id(self, quote: TransferQuote) -> int | None:
        """Between a wallet and an account in another currency: the conversion's journal."""
        if quote.trading_transfer_id and quote.from_currency != quote.to_currency:
            return quote.journal_id
        return None

    def get_error(self, quote: TransferQuote) -> dict[str, str] | None:
        transfer = quote.trading_transfer if quote.trading_transfer_id else None
        if transfer is None or not transfer.error_code:
            return None
        return {"code": transfer.error_code, "detail": transfer.error_detail}


class ConfirmSerializer(serializers.Serializer):
    quote_id = serializers.CharField(max_length=64)


# --- views ---------------------------------------------------------------------------------


class MyAccountTypesView(ClientAPIView):
    """The account types my entity offers, demo and live, with currency and leverage."""

    @extend_schema(responses=OfferedAccountTypeSerializer(many=True))
    def get(self, request: Request) -> Response:
        offered = selectors.account_types_offered(entity_id=self.entity_id)
        return Response(OfferedAccountTypeSerializer(offered, many=True).data)


class MyTradingAccountViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ClientViewSet):
    """My trading accounts with their figures as last synced from the trading server."""

    base_queryset = TradingAccount.objects.select_related("server").order_by("created_at", "pk")
    serializer_class = MyTradingAccountSerializer
    not_found_code = "trading_account_not_found"
    pagination_class = None

    @extend_schema(
        request=MyAccountOpenSerializer,
        responses={201: MyTradingAccountSerializer, 202: MyTradingAccountSerializer},
        parameters=[OPTIONAL_IDEMPOTENCY_HEADER],
    )
    def create(self, request: Request) -> Response:
        """Open a demo or live account (201; 202 while the server is still creating it)."""
        data = MyAccountOpenSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        server = None
        if "server" in data.validated_data:
            server = (
                TradingServer.objects.in_entity(self.entity_id)
                .filter(pk=data.validated_data["server"])
                .first()
            )
            if server is None:
                raise ValidationFailed("No such trading server.", code="server_unknown")
        account = services.trading_account_open(
            actor=self.actor,
            profile=self.profile,
            account_type=data.validated_data["type"],
            currency=data.validated_data["currency"],
            server=server,
            leverage=data.validated_data.get("leverage"),
            idempotency_key=request.headers.get("Idempotency-Key", ""),
        )
        account = (
            TradingAccount.objects.in_entity(account.entity_id)
            .select_related("server")
            .get(pk=account.pk)
        )
        code = (
            status.HTTP_202_ACCEPTED
            if account.status == TradingAccount.Status.PENDING
            else status.HTTP_201_CREATED
        )
        return Response(MyTradingAccountSerializer(account).data, status=code)

    @extend_schema(responses=MyDealSerializer(many=True))
    @action(detail=True, methods=["get"])
    def deals(self, request: Request, pk: str | None = None) -> Response:
        """The account's deals imported from the server, newest first."""
        account = self.get_object()
        deals = (
            Deal.objects.in_entity(account.entity_id)
            .filter(account=account)
            .order_by("-time", "-ticket")
        )
        paginator = Pagination()
        page = paginator.paginate_queryset(deals, request, view=self)
        return paginator.get_paginated_response(MyDealSerializer(page, many=True).data)


def _endpoint(view: ClientAPIView, spec: dict[str, Any]) -> services.Endpoint:
    if spec["kind"] == "wallet":
        wallet = client_wallet_by_id(
            entity_id=view.entity_id, profile_id=view.profile_id, wallet_id=spec["id"]
        )
        if wallet is None:
            raise NotFound("No such wallet.", code="wallet_not_found")
        return services.Endpoint(wallet=wallet)
    account = selectors.client_trading_account(
        entity_id=view.entity_id, profile_id=view.profile_id, account_id=spec["id"]
    )
    if account is None:
        raise NotFound("No such trading account.", code="trading_account_not_found")
    return services.Endpoint(account=account)


class MyTransferQuoteView(ClientAPIView):
    """Quote a transfer between my wallets and trading accounts: the rate and both amounts,
    valid until `expires_at`. Confirm it with POST /me/transfers."""

    @extend_schema(request=QuoteRequestSerializer, responses={201: QuoteSerializer})
    def post(self, request: Request) -> Response:
        data = QuoteRequestSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        quote = services.transfer_quote_create(
            actor=self.actor,
            source=_endpoint(self, data.validated_data["from"]),
            target=_endpoint(self, data.validated_data["to"]),
            amount=data.validated_data["amount"],
        )
        return Response(QuoteSerializer(quote).data, status=status.HTTP_201_CREATED)


class MyTransferView(ClientAPIView):
    """Confirm a quote: the money moves at exactly the quoted rate and amounts."""

    @extend_schema(
        request=ConfirmSerializer,
        parameters=[IDEMPOTENCY_HEADER],
        responses={
            201: TransferResultSerializer,
            202: OpenApiResponse(TransferResultSerializer, "The trading server has not answered"),
            409: OpenApiResponse(description="Refused (code transfer_refused, quote_used, ...)"),
        },
    )
    def post(self, request: Request) -> Response:
        key = idempotency_key_from(request)
        data = ConfirmSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            token = uuid.UUID(data.validated_data["quote_id"])
        except ValueError:
            raise ValidationFailed(
                "quote_id is the id a quote returned.", code="quote_invalid"
            ) from None
        quote = (
            TransferQuote.objects.in_entity(self.entity_id)
            .filter(token=token, profile_id=self.profile_id)
            .first()
        )
        if quote is None:
            raise NotFound("No such quote.", code="quote_not_found")
        quote = services.transfer_execute(actor=self.actor, quote=quote, idempotency_key=key)
        quote = (
            TransferQuote.objects.in_entity(quote.entity_id)
            .select_related("trading_transfer")
            .get(pk=quote.pk)
        )
        body = TransferResultSerializer(quote).data
        if body["status"] in REFUSED:
            # Recorded (and a deposit reversed): the same key again answers the same.
            raise services.TransferRefused(
                (body["error"] or {}).get("detail") or None, extra={"transfer": body}
            )
        code = status.HTTP_202_ACCEPTED if body["status"] == "pending" else status.HTTP_201_CREATED
        return Response(body, status=code)
