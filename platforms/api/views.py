from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from brokercrm.api.base import ScopedViewSet
from brokercrm.api.idempotency import IDEMPOTENCY_HEADER, idempotency_key_from
from brokercrm.errors import PermissionDenied
from brokercrm.scoping import scope_for

from .. import services
from ..models import (
    ControlFailure,
    Deal,
    GroupMapping,
    TradingAccount,
    TradingEvent,
    TradingServer,
    TradingTransfer,
)
from . import serializers as s

OPTIONAL_IDEMPOTENCY_HEADER = OpenApiParameter(
    "Idempotency-Key",
    str,
    OpenApiParameter.HEADER,
    required=False,
    description="With a key, a repeat of the request returns the account it opened.",
)


def _id_param(request: Request, name: str) -> int | None:
    value = request.query_params.get(name, "")
    return int(value) if value.isdigit() and len(value) <= 18 else None


class TradingServerViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedViewSet):
    base_queryset = TradingServer.objects.select_related("entity", "cursor")
    view_permission = "platforms.view_tradingserver"
    serializer_class = s.TradingServerSerializer

    @extend_schema(request=None, responses={202: OpenApiResponse(description="Sync queued")})
    @action(detail=True, methods=["post"])
    def sync(self, request: Request, pk: str | None = None) -> Response:
        """Sync now: a full reconcile and the deal and event feeds, queued."""
        server = self.get_object()
        self.require("platforms.sync_tradingserver", server)
        services.trading_sync_request(actor=request.user, server=server)
        return Response({"status": "queued"}, status=status.HTTP_202_ACCEPTED)


class GroupMappingViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedViewSet):
    base_queryset = GroupMapping.objects.select_related("entity")
    view_permission = "platforms.view_groupmapping"
    serializer_class = s.GroupMappingSerializer


class TradingAccountViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedViewSet):
    """Trading accounts per client (`?profile=`), opened, funded and controlled here."""

    base_queryset = TradingAccount.objects.select_related("entity", "server")
    view_permission = "platforms.view_tradingaccount"
    serializer_class = s.TradingAccountSerializer

    def filter_rows(self, queryset):  # type: ignore[no-untyped-def]
        for name in ("profile", "server"):
            wanted = _id_param(self.request, name)
            if wanted is not None:
                queryset = queryset.filter(**{f"{name}_id": wanted})
        wanted_status = self.request.query_params.get("status", "")
        if wanted_status and self.action == "list":
            queryset = queryset.filter(status=wanted_status[:10])
        return queryset

    @extend_schema(
        request=s.AccountOpenSerializer,
        responses={201: s.TradingAccountSerializer, 202: s.TradingAccountSerializer},
        parameters=[OPTIONAL_IDEMPOTENCY_HEADER],
    )
    def create(self, request: Request) -> Response:
        """Open an account on the client's entity's server, in the mapped group. 202 while
        the server's answer is still unknown (it is finished in the background)."""
        data = s.AccountOpenSerializer(data=request.data, context=self.get_serializer_context())
        data.is_valid(raise_exception=True)
        profile = data.validated_data["profile"]
        if not scope_for(request.user, "platforms.add_tradingaccount").contains(profile):
            raise PermissionDenied(
                "You may not open trading accounts for this client.", code="permission_denied"
            )
        account = services.trading_account_open(
            actor=request.user,
            profile=profile,
            account_type=data.validated_data["account_type"],
            currency=data.validated_data["currency"],
            server=data.validated_data.get("server"),
            leverage=data.validated_data.get("leverage"),
            idempotency_key=request.headers.get("Idempotency-Key", ""),
        )
        pending = account.status == TradingAccount.Status.PENDING
        return Response(
            s.TradingAccountSerializer(account).data,
            status=status.HTTP_202_ACCEPTED if pending else status.HTTP_201_CREATED,
        )

    def _transfer(self, request: Request, direction: str) -> Response:
        account = self.get_object()
        self.require("platforms.fund_tradingaccount", account)
        key = idempotency_key_from(request)
        data = s.TradingTransferRequestSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        transfer = services.trading_transfer_create(
            actor=request.user,
            account=account,
            direction=direction,
            amount=data.validated_data["amount"],
            idempotency_key=f"api:{key}",
        )
        pending = transfer.status == TradingTransfer.Status.PENDING
        return Response(
            s.TradingTransferSerializer(transfer).data,
            status=status.HTTP_202_ACCEPTED if pending else status.HTTP_201_CREATED,
        )

    @extend_schema(
        request=s.TradingTransferRequestSerializer,
        responses={201: s.TradingTransferSerializer, 202: s.TradingTransferSerializer},
        parameters=[IDEMPOTENCY_HEADER],
    )
    @action(detail=True, methods=["post"])
    def deposit(self, request: Request, pk: str | None = None) -> Response:
        """Wallet → trading account: the ledger first, then the server (docs/adr/0008)."""
        return self._transfer(request, TradingTransfer.Direction.DEPOSIT)

    @extend_schema(
        request=s.TradingTransferRequestSerializer,
        responses={201: s.TradingTransferSerializer, 202: s.TradingTransferSerializer},
        parameters=[IDEMPOTENCY_HEADER],
    )
    @action(detail=True, methods=["post"])
    def withdraw(self, request: Request, pk: str | None = None) -> Response:
        """Trading account → wallet: the server first, then the ledger (docs/adr/0008)."""
        return self._transfer(request, TradingTransfer.Direction.WITHDRAWAL)

    @extend_schema(request=s.AccountStatusSerializer, responses=s.TradingAccountSerializer)
    @action(detail=True, methods=["post"], url_path="status")
    def set_status(self, request: Request, pk: str | None = None) -> Response:
        """Enable, make read-only, disable or close; the server follows after commit."""
        account = self.get_object()
        self.require("platforms.change_tradingaccount", account)
        data = s.AccountStatusSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        account = services.trading_account_status_set(
            actor=request.user,
            account=account,
            status=data.validated_data["status"],
            reason=data.validated_data["reason"],
        )
        return Response(s.TradingAccountSerializer(account).data)


class TradingTransferViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedViewSet):
    base_queryset = TradingTransfer.objects.all()
    view_permission = "platforms.view_tradingtransfer"
    serializer_class = s.TradingTransferSerializer

    def filter_rows(self, queryset):  # type: ignore[no-untyped-def]
        wanted = _id_param(self.request, "account")
        return queryset.filter(account_id=wanted) if wanted is not None else queryset


class DealViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedViewSet):
    base_queryset = Deal.objects.all()
    view_permission = "platforms.view_deal"
    serializer_class = s.DealSerializer

    def filter_rows(self, queryset):  # type: ignore[no-untyped-def]
        for name in ("account", "server"):
            wanted = _id_param(self.request, name)
            if wanted is not None:
                queryset = queryset.filter(**{f"{name}_id": wanted})
        login = _id_param(self.request, "login")
        return queryset.filter(login=login) if login is not None else queryset


class TradingEventViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedViewSet):
    base_queryset = TradingEvent.objects.all()
    view_permission = "platforms.view_tradingevent"
    serializer_class = s.TradingEventSerializer

    def filter_rows(self, queryset):  # type: ignore[no-untyped-def]
        wanted = _id_param(self.request, "account")
        return queryset.filter(account_id=wanted) if wanted is not None else queryset


class ControlFailureViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedViewSet):
    """Compliance's queue (`?status=open`): the CRM and a server disagreed about trading."""

    base_queryset = ControlFailure.objects.select_related("account")
    view_permission = "platforms.view_controlfailure"
    serializer_class = s.ControlFailureSerializer

    def filter_rows(self, queryset):  # type: ignore[no-untyped-def]
        wanted = self.request.query_params.get("status", "")
        if wanted and self.action == "list":
            queryset = queryset.filter(status=wanted[:8])
        return queryset

    @extend_schema(request=s.ControlFailureResolveSerializer, responses=s.ControlFailureSerializer)
    @action(detail=True, methods=["post"])
    def resolve(self, request: Request, pk: str | None = None) -> Response:
        failure = self.get_object()
        self.require("platforms.resolve_controlfailure", failure)
        data = s.ControlFailureResolveSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        failure = services.control_failure_resolve(
            actor=request.user, failure=failure, resolution=data.validated_data["resolution"]
        )
        return Response(s.ControlFailureSerializer(failure).data)
