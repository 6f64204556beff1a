from django.urls import path
from rest_framework.routers import SimpleRouter

from . import client, views

router = SimpleRouter(trailing_slash=False)
router.register("trading-servers", views.TradingServerViewSet, basename="trading-server")
router.register("group-mappings", views.GroupMappingViewSet, basename="group-mapping")
router.register("trading-accounts", views.TradingAccountViewSet, basename="trading-account")
router.register("trading-transfers", views.TradingTransferViewSet, basename="trading-transfer")
router.register("deals", views.DealViewSet, basename="deal")
router.register("trading-events", views.TradingEventViewSet, basename="trading-event")
router.register("control-failures", views.ControlFailureViewSet, basename="control-failure")
router.register(
    "me/trading-accounts", client.MyTradingAccountViewSet, basename="my-trading-account"
)

urlpatterns = [
    path("me/account-types", client.MyAccountTypesView.as_view(), name="my-account-types"),
    path("me/transfers/quote", client.MyTransferQuoteView.as_view(), name="my-transfer-quote"),
    path("me/transfers", client.MyTransferView.as_view(), name="my-transfers"),
    *router.urls,
]
