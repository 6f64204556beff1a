"""Rebate plans and the IB programme in the API: plans and their versions, corrections of a
version, and each entity's programme settings over time."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from brokercrm.api.base import ScopedViewSet, scoped
from ib import services
from ib.api import serializers as s
from ib.models import IbProgramme, RebatePlan, RebatePlanVersion

from .common import ManagerWritesMixin, _int_param


class RebatePlanViewSet(
    ManagerWritesMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedViewSet
):
    """Rebate plans and their versions (a new version starts after the current one)."""

    base_queryset = RebatePlan.objects.all()
    view_permission = "ib.view_rebateplan"
    serializer_class = s.RebatePlanSerializer

    @extend_schema(request=s.RebatePlanCreateSerializer, responses={201: s.RebatePlanSerializer})
    def create(self, request: Request) -> Response:
        self.require_somewhere("ib.add_rebateplan")
        data = s.RebatePlanCreateSerializer(
            data=request.data, context=self.get_serializer_context()
        )
        data.is_valid(raise_exception=True)
        entity = self.entity_or_only(data.validated_data.get("entity"), "ib.add_rebateplan")
        plan = services.rebate_plan_create(
            actor=request.user,
            entity=entity,
            name=data.validated_data["name"],
            currency=data.validated_data["currency"],
        )
        return Response(s.RebatePlanSerializer(plan).data, status=status.HTTP_201_CREATED)

    @extend_schema(methods=["GET"], responses=s.RebatePlanVersionSerializer(many=True))
    @extend_schema(
        methods=["POST"],
        request=s.RebatePlanPublishSerializer,
        responses={201: s.RebatePlanVersionSerializer},
    )
    @action(detail=True, methods=["get", "post"])
    def versions(self, request: Request, pk: str | None = None) -> Response:
        """The plan's versions with their rates; POST publishes a new one from `valid_from`."""
        plan = self.get_object()
        if request.method == "GET":
            versions = scoped(
                RebatePlanVersion.objects.all(), self.scope("ib.view_rebateplanversion")
            ).filter(plan=plan)
            return Response(
                s.RebatePlanVersionSerializer(versions.order_by("number"), many=True).data
            )
        data = s.RebatePlanPublishSerializer(
            data=request.data, context=self.get_serializer_context()
        )
        data.is_valid(raise_exception=True)
        version = services.rebate_plan_publish(
            actor=request.user,
            plan=plan,
            valid_from=data.validated_data["valid_from"],
            rates=s.rates_for_service(data.validated_data["rates"]),
            tier_split=data.validated_data["tier_split"],
            per_trade_ceiling=data.validated_data["per_trade_ceiling"],
            min_holding_seconds=data.validated_data["min_holding_seconds"],
        )
        return Response(s.RebatePlanVersionSerializer(version).data, status=status.HTTP_201_CREATED)


class IbProgrammeViewSet(
    ManagerWritesMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedViewSet
):
    """The IB programme settings of the user's entities over time (how many tiers earn).
    POST changes them from `valid_from` (now if left out, never in the past)."""

    base_queryset = IbProgramme.objects.order_by("entity_id", "valid_from")
    view_permission = "ib.view_ibprogramme"
    serializer_class = s.IbProgrammeSerializer

    @extend_schema(request=s.IbProgrammeSetSerializer, responses={201: s.IbProgrammeSerializer})
    def create(self, request: Request) -> Response:
        self.require_somewhere("ib.change_ibprogramme")
        data = s.IbProgrammeSetSerializer(data=request.data, context=self.get_serializer_context())
        data.is_valid(raise_exception=True)
        programme = services.ib_programme_set(
            actor=request.user,
            entity=self.entity_or_only(data.validated_data.get("entity"), "ib.change_ibprogramme"),
            max_depth=data.validated_data["max_depth"],
            valid_from=data.validated_data.get("valid_from"),
            reason=data.validated_data["reason"],
        )
        return Response(s.IbProgrammeSerializer(programme).data, status=status.HTTP_201_CREATED)


class RebatePlanVersionViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedViewSet):
    """Plan versions with their rates. A correction replaces a version for its whole period:
    its lines are reversed and recomputed, and the next run pays the difference."""

    base_queryset = RebatePlanVersion.objects.order_by("plan_id", "number")
    view_permission = "ib.view_rebateplanversion"
    serializer_class = s.RebatePlanVersionSerializer

    @extend_schema(parameters=[OpenApiParameter("plan", int)])
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().list(request, *args, **kwargs)

    def filter_rows(self, queryset: QuerySet) -> QuerySet:
        if "plan" not in self.request.query_params:
            return queryset
        wanted = _int_param(self.request, "plan")
        return queryset.filter(plan_id=wanted) if wanted else queryset.none()

    @extend_schema(
        request=s.RebatePlanCorrectSerializer, responses={201: s.RebatePlanVersionSerializer}
    )
    @action(detail=True, methods=["post"])
    def correct(self, request: Request, pk: str | None = None) -> Response:
        version = self.get_object()
        data = s.RebatePlanCorrectSerializer(
            data=request.data, context=self.get_serializer_context()
        )
        data.is_valid(raise_exception=True)
        correction = services.rebate_plan_correct(
            actor=request.user,
            version=version,
            rates=s.rates_for_service(data.validated_data["rates"]),
            tier_split=data.validated_data["tier_split"],
            per_trade_ceiling=data.validated_data["per_trade_ceiling"],
            min_holding_seconds=data.validated_data["min_holding_seconds"],
            reason=data.validated_data["reason"],
        )
        return Response(
            s.RebatePlanVersionSerializer(correction).data, status=status.HTTP_201_CREATED
        )
