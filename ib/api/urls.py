from django.urls import path
from rest_framework.routers import SimpleRouter

from . import views

router = SimpleRouter(trailing_slash=False)
router.register("ib-partners", views.IbPartnerViewSet, basename="ib-partner")
router.register("commission-lines", views.CommissionLineViewSet, basename="commission-line")

urlpatterns = [
    path("me/ib/statement", views.MyIbStatementView.as_view(), name="my-ib-statement"),
    *router.urls,
]
