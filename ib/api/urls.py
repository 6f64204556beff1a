from django.urls import path
from rest_framework.routers import SimpleRouter

from . import views

router = SimpleRouter(trailing_slash=False)
router.register("ib-partners", views.IbPartnerViewSet, basename="ib-partner")
router.register("ib-programmes", views.IbProgrammeViewSet, basename="ib-programme")
router.register("ib-assignments", views.IbAssignmentViewSet, basename="ib-assignment")
router.register("rebate-plans", views.RebatePlanViewSet, basename="rebate-plan")
router.register(
    "rebate-plan-versions", views.RebatePlanVersionViewSet, basename="rebate-plan-version"
)
router.register("referral-reviews", views.ReferralReviewViewSet, basename="referral-review")
router.register("commission-lines", views.CommissionLineViewSet, basename="commission-line")
router.register("commission-runs", views.CommissionRunViewSet, basename="commission-run")

urlpatterns = [
    path("me/ib/statement", views.MyIbStatementView.as_view(), name="my-ib-statement"),
    path("me/ib/referral-links", views.MyReferralLinksView.as_view(), name="my-ib-referral-links"),
    path("me/ib/clients", views.MyReferredClientsView.as_view(), name="my-ib-clients"),
    *router.urls,
]
