"""The IB API: partners and attribution, rebate plans and the programme, commissions and
statements (one module each; every view is importable from here)."""

from __future__ import annotations

from .commissions import CommissionLineViewSet, CommissionRunViewSet, MyIbStatementView
from .common import STATEMENT_PARAMETERS, ManagerWritesMixin, _int_param, statement_response
from .mine import MyReferralLinksView, MyReferredClientsView
from .partners import IbAssignmentViewSet, IbPartnerViewSet, ReferralReviewViewSet
from .plans import IbProgrammeViewSet, RebatePlanVersionViewSet, RebatePlanViewSet

__all__ = [
    "STATEMENT_PARAMETERS",
    "CommissionLineViewSet",
    "CommissionRunViewSet",
    "IbAssignmentViewSet",
    "IbPartnerViewSet",
    "IbProgrammeViewSet",
    "ManagerWritesMixin",
    "MyIbStatementView",
    "MyReferralLinksView",
    "MyReferredClientsView",
    "RebatePlanVersionViewSet",
    "RebatePlanViewSet",
    "ReferralReviewViewSet",
    "_int_param",
    "statement_response",
]
