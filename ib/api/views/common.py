"""What the IB API views share: the statement response (JSON or CSV) and its parameters, the
numeric query filter, and the up-front refusal of IB managers' writes."""

from __future__ import annotations

from typing import Any

from django.http import HttpResponse
from drf_spectacular.utils import OpenApiParameter
from rest_framework.request import Request
from rest_framework.response import Response

from brokercrm.errors import PermissionDenied, ValidationFailed
from brokercrm.scoping import scope_for
from ib.api import serializers as s
from ib.models import IbPartner
from ib.selectors import ib_statement, ib_statement_csv

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
