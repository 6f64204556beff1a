from django.urls import path
from rest_framework.routers import SimpleRouter

from . import views

router = SimpleRouter(trailing_slash=False)
router.register("kyc-files", views.KycFileViewSet, basename="kyc-file")
router.register("kyc-documents", views.KycDocumentViewSet, basename="kyc-document")

urlpatterns = [
    *router.urls,
    path("webhooks/kyc-liveness", views.LivenessWebhookView.as_view(), name="kyc-liveness-webhook"),
]
