from django.urls import path, re_path
from rest_framework.routers import SimpleRouter

from . import client, views

router = SimpleRouter(trailing_slash=False)
router.register("kyc-files", views.KycFileViewSet, basename="kyc-file")
router.register("kyc-documents", views.KycDocumentViewSet, basename="kyc-document")

urlpatterns = [
    *router.urls,
    path("me/kyc", client.MyKycView.as_view(), name="my-kyc"),
    path("me/kyc/questionnaire", client.MyKycAnswersView.as_view(), name="my-kyc-questionnaire"),
    path(
        "me/kyc/appropriateness",
        client.MyAppropriatenessView.as_view(),
        name="my-kyc-appropriateness",
    ),
    path("me/kyc/documents", client.MyKycDocumentsView.as_view(), name="my-kyc-documents"),
    re_path(
        r"^me/kyc/documents/(?P<document_id>[0-9]{1,18})/file$",
        client.MyKycDocumentFileView.as_view(),
        name="my-kyc-document-file",
    ),
    path("me/kyc/liveness", client.MyLivenessView.as_view(), name="my-kyc-liveness"),
    path("me/kyc/submit", client.MyKycSubmitView.as_view(), name="my-kyc-submit"),
    path("webhooks/kyc-liveness", views.LivenessWebhookView.as_view(), name="kyc-liveness-webhook"),
]
