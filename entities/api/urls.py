from rest_framework.routers import SimpleRouter

from . import views

router = SimpleRouter(trailing_slash=False)
router.register("entities", views.LegalEntityViewSet, basename="entity")
router.register("brands", views.BrandViewSet, basename="brand")
router.register("desks", views.DeskViewSet, basename="desk")
router.register("country-routes", views.CountryRouteViewSet, basename="country-route")
router.register("rule-sets", views.RuleSetViewSet, basename="rule-set")

urlpatterns = router.urls
