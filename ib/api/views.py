from __future__ import annotations

from typing import Any

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins
from rest_framework.decorators import action
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from brokercrm.accounts.api.permissions import IsClientLogin
from brokercrm.api.base import ScopedViewSet
from brokercrm.errors import NotFound

from ..models import CommissionLine, IbPartner
from ..selectors import ib_partner_of_profile, ib_statement, ib_statement_csv
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


class IbPartnerViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedViewSet):
    base_queryset = IbPartner.objects.select_related("entity")
    view_permission = "ib.view_ibpartner"
    serializer_class = s.IbPartnerSerializer

    @extend_schema(parameters=STATEMENT_PARAMETERS)
    @action(detail=True, methods=["get"])
    def statement(self, request: Request, pk: str | None = None) -> Any:
        """Every commission line of the IB's deals in the period, with totals (JSON or CSV)."""
        ib = self.get_object()
        self.require("ib.view_commissionline", ib)
        return statement_response(ib, request.query_params)


class CommissionLineViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedViewSet):
    base_queryset = CommissionLine.objects.all()
    view_permission = "ib.view_commissionline"
    serializer_class = s.CommissionLineSerializer


class MyIbStatementView(APIView):
    """A client login that is an IB reads its own statement (same shape as the staff one)."""

    permission_classes = [IsAuthenticated, IsClientLogin]

    @extend_schema(parameters=STATEMENT_PARAMETERS, responses={200: OpenApiTypes.OBJECT})
    def get(self, request: Request) -> Any:
        ib = ib_partner_of_profile(profile_id=request.user.profile_id)
        if ib is None:
            raise NotFound("You are not an introducing broker with us.", code="not_an_ib")
        return statement_response(ib, request.query_params)
