"""IB partners in the API: the IBs themselves with their referral codes and parent, client
attributions over time, and the referrals left for review."""

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
from ib.models import IbAssignment, IbPartner, ReferralCode, ReferralReview
from ib.services.management import UNCHANGED

from .common import STATEMENT_PARAMETERS, ManagerWritesMixin, _int_param, statement_response


class IbPartnerViewSet(
    ManagerWritesMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedViewSet
):
    """IBs of the user's entities: made from a client profile, moved to another plan,
    suspended or reactivated; their referral codes and parent."""

    base_queryset = IbPartner.objects.select_related("entity")
    view_permission = "ib.view_ibpartner"
    serializer_class = s.IbPartnerSerializer

    def filter_rows(self, queryset: QuerySet) -> QuerySet:
        wanted = self.request.query_params.get("status", "")
        return queryset.filter(status=wanted[:10]) if wanted else queryset

    @extend_schema(request=s.IbPartnerCreateSerializer, responses={201: s.IbPartnerSerializer})
    def create(self, request: Request) -> Response:
        self.require_somewhere("ib.add_ibpartner")
        data = s.IbPartnerCreateSerializer(data=request.data, context=self.get_serializer_context())
        data.is_valid(raise_exception=True)
        ib = services.ib_partner_create(
            actor=request.user,
            profile=data.validated_data["profile"],
            name=data.validated_data["name"],
            plan=data.validated_data.get("plan"),
        )
        return Response(s.IbPartnerSerializer(ib).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=s.IbPartnerUpdateSerializer, responses=s.IbPartnerSerializer)
    def partial_update(self, request: Request, pk: str | None = None) -> Response:
        """Change the plan (null: none) and/or the status (active, suspended), with a reason."""
        ib = self.get_object()
        data = s.IbPartnerUpdateSerializer(data=request.data, context=self.get_serializer_context())
        data.is_valid(raise_exception=True)
        ib = services.ib_partner_update(
            actor=request.user,
            ib=ib,
            plan=data.validated_data.get("plan", UNCHANGED),
            plan_from=data.validated_data.get("plan_from"),
            status=data.validated_data.get("status"),
            reason=data.validated_data["reason"],
        )
        return Response(s.IbPartnerSerializer(ib).data)

    @extend_schema(methods=["GET"], responses=s.ReferralCodeSerializer(many=True))
    @extend_schema(
        methods=["POST"],
        request=s.ReferralCodeCreateSerializer,
        responses={201: s.ReferralCodeSerializer},
    )
    @action(detail=True, methods=["get", "post"], url_path="referral-codes")
    def referral_codes(self, request: Request, pk: str | None = None) -> Response:
        """The IB's referral codes; POST adds one for a brand of the IB's entity."""
        ib = self.get_object()
        if request.method == "GET":
            codes = scoped(
                ReferralCode.objects.select_related("brand"), self.scope("ib.view_referralcode")
            )
            return Response(
                s.ReferralCodeSerializer(codes.filter(ib=ib).order_by("pk"), many=True).data
            )
        data = s.ReferralCodeCreateSerializer(
            data=request.data, context=self.get_serializer_context()
        )
        data.is_valid(raise_exception=True)
        code = services.referral_code_create(
            actor=request.user,
            ib=ib,
            brand=data.validated_data["brand"],
            code=data.validated_data["code"],
        )
        return Response(s.ReferralCodeSerializer(code).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=s.IbParentSetSerializer, responses={201: s.IbLinkSerializer})
    @action(detail=True, methods=["post"])
    def parent(self, request: Request, pk: str | None = None) -> Response:
        """Give the IB a new parent (null: none) from `valid_from`; earlier deals keep the old
        chain."""
        ib = self.get_object()
        data = s.IbParentSetSerializer(data=request.data, context=self.get_serializer_context())
        data.is_valid(raise_exception=True)
        link = services.ib_parent_set(
            actor=request.user,
            ib=ib,
            parent=data.validated_data["parent"],
            valid_from=data.validated_data["valid_from"],
        )
        return Response(s.IbLinkSerializer(link).data, status=status.HTTP_201_CREATED)

    @extend_schema(parameters=STATEMENT_PARAMETERS)
    @action(detail=True, methods=["get"])
    def statement(self, request: Request, pk: str | None = None) -> Any:
        """Every commission line of the IB's deals in the period, with totals (JSON or CSV)."""
        ib = self.get_object()
        self.require("ib.view_commissionline", ib)
        return statement_response(ib, request.query_params)


class IbAssignmentViewSet(
    ManagerWritesMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedViewSet
):
    """Which IB each client is attributed to, over time. POST moves a client to another IB
    from `valid_from` on (audited, with the reason)."""

    base_queryset = IbAssignment.objects.order_by("profile_id", "valid_from", "pk")
    view_permission = "ib.view_ibassignment"
    serializer_class = s.IbAssignmentSerializer

    @extend_schema(
        parameters=[OpenApiParameter("profile", int), OpenApiParameter("ib", int)],
    )
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().list(request, *args, **kwargs)

    def filter_rows(self, queryset: QuerySet) -> QuerySet:
        for name in ("profile", "ib"):
            if name in self.request.query_params:
                wanted = _int_param(self.request, name)
                queryset = queryset.filter(**{f"{name}_id": wanted}) if wanted else queryset.none()
        return queryset

    @extend_schema(request=s.IbReattributeSerializer, responses={201: s.IbAssignmentSerializer})
    def create(self, request: Request) -> Response:
        self.require_somewhere("ib.change_ibassignment")
        data = s.IbReattributeSerializer(data=request.data, context=self.get_serializer_context())
        data.is_valid(raise_exception=True)
        assignment = services.ib_reattribute(
            actor=request.user,
            profile=data.validated_data["profile"],
            ib=data.validated_data["ib"],
            valid_from=data.validated_data["valid_from"],
            reason=data.validated_data["reason"],
        )
        return Response(s.IbAssignmentSerializer(assignment).data, status=status.HTTP_201_CREATED)


class ReferralReviewViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedViewSet):
    """Referrals that attributed nothing (unknown code, another entity's code, a suspended
    IB's code): attribute the client to an IB of the entity, or dismiss, once."""

    base_queryset = ReferralReview.objects.order_by("-created_at", "-pk")
    view_permission = "ib.view_referralreview"
    serializer_class = s.ReferralReviewSerializer

    @extend_schema(parameters=[OpenApiParameter("status", str, enum=ReferralReview.Status.values)])
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().list(request, *args, **kwargs)

    def filter_rows(self, queryset: QuerySet) -> QuerySet:
        wanted = self.request.query_params.get("status", "")
        return queryset.filter(status=wanted[:10]) if wanted else queryset

    @extend_schema(request=s.ReferralReviewResolveSerializer, responses=s.ReferralReviewSerializer)
    @action(detail=True, methods=["post"])
    def resolve(self, request: Request, pk: str | None = None) -> Response:
        review = self.get_object()
        data = s.ReferralReviewResolveSerializer(
            data=request.data, context=self.get_serializer_context()
        )
        data.is_valid(raise_exception=True)
        review = services.referral_review_resolve(
            actor=request.user,
            review=review,
            decision=data.validated_data["decision"],
            reason=data.validated_data["reason"],
            ib=data.validated_data.get("ib"),
            valid_from=data.validated_data.get("valid_from"),
        )
        return Response(s.ReferralReviewSerializer(review).data)
