from django.urls import path
from rest_framework.routers import SimpleRouter

from . import account, views

router = SimpleRouter(trailing_slash=False)
router.register("client-profiles", views.ClientProfileViewSet, basename="client-profile")
router.register("duplicate-cases", views.DuplicateCaseViewSet, basename="duplicate-case")

urlpatterns = [
    path("registrations", views.RegistrationView.as_view(), name="registrations"),
    # The client's own account (client token).
    path("me/profile", account.MyProfileView.as_view(), name="me-profile"),
    path(
        "me/email-verification",
        account.MyEmailVerificationView.as_view(),
        name="me-email-verification",
    ),
    path(
        "me/email-verification/confirm",
        account.MyEmailVerificationConfirmView.as_view(),
        name="me-email-verification-confirm",
    ),
    path("me/password", account.MyPasswordView.as_view(), name="me-password"),
    path("me/sessions", account.MySessionsView.as_view(), name="me-sessions"),
    path("me/documents", account.MyDocumentsView.as_view(), name="me-documents"),
    path("me/consents", account.MyConsentsView.as_view(), name="me-consents"),
    # The brand's site, for a client who opened a link in an account e-mail (brand key).
    path(
        "email-verifications", account.EmailVerificationView.as_view(), name="email-verifications"
    ),
    path(
        "client-password-resets",
        account.ClientPasswordResetView.as_view(),
        name="client-password-resets",
    ),
    path(
        "client-password-resets/confirm",
        account.ClientPasswordResetConfirmView.as_view(),
        name="client-password-reset-confirm",
    ),
    *router.urls,
]
