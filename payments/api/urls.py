from django.urls import path
from rest_framework.routers import SimpleRouter

from . import client_views, views

router = SimpleRouter(trailing_slash=False)
router.register("deposits", views.DepositViewSet, basename="deposit")
router.register("withdrawals", views.WithdrawalViewSet, basename="withdrawal")
router.register("bank-accounts", views.BankAccountViewSet, basename="bank-account")
router.register("me/deposits", client_views.MyDepositViewSet, basename="my-deposit")
router.register("me/withdrawals", client_views.MyWithdrawalViewSet, basename="my-withdrawal")
router.register("me/bank-accounts", client_views.MyBankAccountViewSet, basename="my-bank-account")
router.register(
    "reconciliation-breaks", views.ReconciliationBreakViewSet, basename="reconciliation-break"
)

urlpatterns = [
    *router.urls,
    path(
        "me/deposit-methods",
        client_views.MyDepositMethodsView.as_view(),
        name="my-deposit-methods",
    ),
    path("webhooks/psp/<slug:merchant>", views.PspWebhookView.as_view(), name="psp-webhook"),
]
