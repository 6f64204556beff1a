from django.urls import path
from rest_framework.routers import SimpleRouter

from . import client, views

router = SimpleRouter(trailing_slash=False)
router.register("wallets", views.WalletViewSet, basename="wallet")
router.register("journals", views.JournalViewSet, basename="journal")
router.register("me/wallets", client.MyWalletViewSet, basename="my-wallet")

urlpatterns = [
    path("transfers", views.TransferView.as_view(), name="transfers"),
    path("ledger/trial-balance", views.TrialBalanceView.as_view(), name="trial-balance"),
    *router.urls,
]
