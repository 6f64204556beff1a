from django.urls import path
from rest_framework.routers import SimpleRouter

from . import views

router = SimpleRouter(trailing_slash=False)
router.register("client-profiles", views.ClientProfileViewSet, basename="client-profile")
router.register("duplicate-cases", views.DuplicateCaseViewSet, basename="duplicate-case")

urlpatterns = [
    path("registrations", views.RegistrationView.as_view(), name="registrations"),
    *router.urls,
]
