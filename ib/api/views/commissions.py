"""Commissions in the API: commission lines, runs of the commission batch, and an IB client's
own statement."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from brokercrm.accounts.api.permissions import IsClientLogin
from brokercrm.api.base import ScopedViewSet
from brokercrm.errors import NotFound, PermissionDenied
from brokercrm.scoping import scope_for
from ib import services
from ib.api import serializers as s
from ib.models import CommissionLine, CommissionRun
from ib.selectors import ib_partner_of_profile

from .common import STATEMENT_PARAMETERS, statement_response


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
