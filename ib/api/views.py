from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from brokercrm.accounts.api.permissions import IsClientLogin
from brokercrm.api.base import ScopedViewSet, scoped
from brokercrm.errors import NotFound, PermissionDenied, ValidationFailed
from brokercrm.scoping import scope_for

from .. import services
from ..models import (
    CommissionLine,
    CommissionRun,
    IbAssignment,
    IbPartner,
    IbProgramme,
    RebatePlan,
    RebatePlanVersion,
    ReferralCode,
    ReferralReview,
)
from ..selectors import ib_partner_of_profile, ib_statement, ib_statement_csv
from ..services.management import UNCHANGED
from . import serializers as s

STATEMENT_PARAMETERS = [
    OpenApiParameter("date_from", str, required=True),
    OpenApiParameter("date_to", str, required=True),
    OpenApiParameter("output", str, enum=["json", "csv"]),
]


def statement_response(ib: IbPartner, params: Any) -> HttpResponse | Response:
    """The IB's statement for the period in `params`, as JSON or as a CSV download."""
    query = s.StatementQuerySerializer(data=params)
    query.is_valid(raise_exception=True)
    statement = ib_statement(
        ib=ib,
        date_from=query.validated_data["date_from"],
        date_to=query.validated_data["date_to"],
    )
    if query.validated_data.get("output") == "csv":
        response = HttpResponse(ib_statement_csv(statement), content_type="text/csv")
        response["Content-Disposition"] = f'attachment; filename="ib-{ib.pk}-statement.csv"'
        return response
    return Response(
        {
            **statement,
            "lines": [
                {**row, "amount": str(row["amount"]), "lots": str(row["lots"])}
                for row in statement["lines"]
            ],
            "totals": {name: str(value) for name, value in statement["totals"].items()},
        }
    )


def _int_param(request: Request, name: str) -> int | None:
    """A numeric filter from the query string; anything else filters nothing."""
    value = request.query_params.get(name, "")
    return int(value) if value.isdigit() and len(value) <= 18 else None


class ManagerWritesMixin:
    """Writes go through the IB services, which check the permission in the object's entity.
    A user who may do it in no entity at all is refused up front (403), before input
    validation could tell them which ids exist."""

    request: Request

    def require_somewhere(self, perm: str) -> None:
        if scope_for(self.request.user, perm).is_empty:
            raise PermissionDenied("You may not manage IBs.")

    def entity_or_only(self, entity: Any, perm: str) -> Any:
        """The entity the request names, or the only one the user may do `perm` in."""
        if entity is not None:
            return entity
        where = scope_for(self.request.user, perm)
        if where.everything or len(where.entity_ids) != 1:
            raise ValidationFailed(
                "You manage IBs in several entities: name the entity.", code="entity_required"
            )
        return next(iter(where.entity_ids))


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


class CommissionLineViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedViewSet):
    base_queryset = CommissionLine.objects.all()
    view_permission = "ib.view_commissionline"
    serializer_class = s.CommissionLineSerializer


class CommissionRunViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """Runs of the commission batch. A run spans entities (it is not an entity's row): anyone
    who may view or start runs in some entity sees them all; POST queues a run."""

    serializer_class = s.CommissionRunSerializer
    lookup_value_regex = r"[0-9]{1,18}"

    def get_queryset(self) -> QuerySet:
        user = self.request.user
        viewer = scope_for(user, "ib.view_commissionrun")
        if not (viewer.everything or viewer.entity_ids or services.commission_run_allowed(user)):
            raise PermissionDenied("You may not see commission runs.")
        return CommissionRun.objects.order_by("-pk")

    @extend_schema(request=None, responses={202: s.CommissionRunQueuedSerializer})
    def create(self, request: Request) -> Response:
        services.commission_run_request(actor=request.user)
        return Response({"status": "queued"}, status=status.HTTP_202_ACCEPTED)


class MyIbStatementView(APIView):
    """A client login that is an IB reads its own statement (same shape as the staff one)."""

    permission_classes = [IsAuthenticated, IsClientLogin]

    @extend_schema(parameters=STATEMENT_PARAMETERS, responses={200: OpenApiTypes.OBJECT})
    def get(self, request: Request) -> Any:
        ib = ib_partner_of_profile(profile_id=request.user.profile_id)
        if ib is None:
            raise NotFound("You are not an introducing broker with us.", code="not_an_ib")
        return statement_response(ib, request.query_params)
