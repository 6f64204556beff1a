from django.urls import path
from rest_framework.routers import SimpleRouter

from . import views

router = SimpleRouter(trailing_slash=False)
router.register("deposits", views.DepositViewSet, basename="deposit")
router.register("withdrawals", views.WithdrawalViewSet, basename="withdrawal")
router.register("bank-accounts", views.BankAccountViewSet, basename="bank-account")
router.register(
    "reconciliation-breaks", views.ReconciliationBreakViewSet, basename="reconciliation-break"
)

urlpatterns = [
    *router.urls,
    path("webhooks/psp/<slug:merchant>", views.PspWebhookView.as_view(), name="psp-webhook"),
]
