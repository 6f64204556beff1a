from rest_framework.routers import SimpleRouter

from . import views

router = SimpleRouter(trailing_slash=False)
router.register("trading-servers", views.TradingServerViewSet, basename="trading-server")
router.register("group-mappings", views.GroupMappingViewSet, basename="group-mapping")
router.register("trading-accounts", views.TradingAccountViewSet, basename="trading-account")
router.register("trading-transfers", views.TradingTransferViewSet, basename="trading-transfer")
router.register("deals", views.DealViewSet, basename="deal")
router.register("trading-events", views.TradingEventViewSet, basename="trading-event")
router.register("control-failures", views.ControlFailureViewSet, basename="control-failure")

urlpatterns = router.urls
