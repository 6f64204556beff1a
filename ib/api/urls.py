from rest_framework.routers import SimpleRouter

from . import views

router = SimpleRouter(trailing_slash=False)
router.register("ib-partners", views.IbPartnerViewSet, basename="ib-partner")
router.register("commission-lines", views.CommissionLineViewSet, basename="commission-line")

urlpatterns = router.urls
