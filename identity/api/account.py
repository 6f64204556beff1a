"""The client's own account: profile and contact details, e-mail verification, password,
sessions, and the entity's legal documents with the client's consents.

`/me/...` endpoints take the client token; the brand front end's account calls (confirming a
verification link, password reset) take the brand key, since the client is not signed in
when they open the link in the e-mail.
"""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from brokercrm.accounts.tokens import client_logout_everywhere
from brokercrm.api.client import ClientAPIView

from .. import selectors, services
from . import account_serializers as s
from .auth import BrandKeyAuthentication, IsBrandKey


def _verified(profile: object) -> Response:
    return Response(
        {
            "profile_id": profile.pk,
            "email": profile.email,
            "email_verified": profile.email_verified,
        }
    )


class MyProfileView(ClientAPIView):
    """My profile: name, contact details, language, status. I change my contact details
    and language here; a new e-mail address must be verified again."""

    @extend_schema(responses=s.MyProfileSerializer)
    def get(self, request: Request) -> Response:
        return Response(s.MyProfileSerializer(self.profile).data)

    @extend_schema(request=s.MyProfileUpdateSerializer, responses=s.MyProfileSerializer)
    def patch(self, request: Request) -> Response:
        data = s.MyProfileUpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        profile = services.profile_update(
            actor=self.actor, profile=self.profile, **data.validated_data
        )
        return Response(s.MyProfileSerializer(profile).data)


class MyEmailVerificationView(ClientAPIView):
    """Send me the verification e-mail again (a few times an hour at most)."""

    @extend_schema(request=None, responses={202: None})
    def post(self, request: Request) -> Response:
        services.email_verification_send(actor=self.actor, profile=self.profile)
        return Response(status=status.HTTP_202_ACCEPTED)


class MyEmailVerificationConfirmView(ClientAPIView):
    """Confirm my address with the token from the verification e-mail."""

    @extend_schema(request=s.TokenSerializer, responses=s.VerifiedSerializer)
    def post(self, request: Request) -> Response:
        data = s.TokenSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        profile = services.email_verification_confirm(
            actor=self.actor, token=data.validated_data["token"]
        )
        return _verified(profile)


class EmailVerificationView(APIView):
    """The brand's site confirms the verification link a client opened (brand key). Only
    tokens of the brand's own clients are taken."""

    authentication_classes = [BrandKeyAuthentication]
    permission_classes = [IsBrandKey]

    @extend_schema(request=s.TokenSerializer, responses=s.VerifiedSerializer)
    def post(self, request: Request) -> Response:
        data = s.TokenSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        brand = request.auth.brand
        profile = services.email_verification_confirm(
            actor=services.brand_actor(brand), token=data.validated_data["token"], brand=brand
        )
        return _verified(profile)


class MyPasswordView(ClientAPIView):
    """Change my password. My other sessions end; this one stays signed in."""

    @extend_schema(request=s.PasswordChangeSerializer, responses={204: None})
    def post(self, request: Request) -> Response:
        data = s.PasswordChangeSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.client_password_change(
            actor=self.actor,
            current_password=data.validated_data["current_password"],
            new_password=data.validated_data["new_password"],
            keep_token=request.auth,
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


class MySessionsView(ClientAPIView):
    """Log out everywhere: every token of my login stops working, this one included."""

    @extend_schema(request=None, responses={204: None})
    def delete(self, request: Request) -> Response:
        client_logout_everywhere(token=request.auth)
        return Response(status=status.HTTP_204_NO_CONTENT)


class ClientPasswordResetView(APIView):
    """A brand front end asks for a password reset e-mail (brand key). Always 202, whether or
    not the address holds a login; 429 `reset_throttled` after a few asks for one address."""

    authentication_classes = [BrandKeyAuthentication]
    permission_classes = [IsBrandKey]

    @extend_schema(request=s.PasswordResetRequestSerializer, responses={202: None})
    def post(self, request: Request) -> Response:
        data = s.PasswordResetRequestSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        brand = request.auth.brand
        services.client_password_reset_request(
            actor=services.brand_actor(brand),
            brand=brand,
            email=data.validated_data["email"],
            entity_code=data.validated_data.get("entity", ""),
        )
        return Response(status=status.HTTP_202_ACCEPTED)


class ClientPasswordResetConfirmView(APIView):
    """The brand's site sets the new password with the uid and token of the reset e-mail.
    Every token of the login stops working."""

    authentication_classes = [BrandKeyAuthentication]
    permission_classes = [IsBrandKey]

    @extend_schema(request=s.PasswordResetConfirmSerializer, responses={204: None})
    def post(self, request: Request) -> Response:
        data = s.PasswordResetConfirmSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        brand = request.auth.brand
        services.client_password_reset_confirm(
            actor=services.brand_actor(brand), brand=brand, **data.validated_data
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


class MyDocumentsView(ClientAPIView):
    """My entity's legal documents in force, each with whether and when I accepted it."""

    @extend_schema(responses=s.DocumentSerializer(many=True))
    def get(self, request: Request) -> Response:
        rows = selectors.profile_documents(self.profile)
        return Response(s.DocumentSerializer(rows, many=True).data)


class MyConsentsView(ClientAPIView):
    """I accept a document's version in force (accepting it again changes nothing)."""

    @extend_schema(
        request=s.ConsentRequestSerializer,
        responses={201: s.ConsentSerializer, 200: s.ConsentSerializer},
    )
    def post(self, request: Request) -> Response:
        data = s.ConsentRequestSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        consent, created = services.consent_accept(
            actor=self.actor,
            profile=self.profile,
            document_id=data.validated_data["document_id"],
            user_agent=request.META.get("HTTP_USER_AGENT", ""),
        )
        return Response(
            {
                "id": consent.pk,
                "document_id": consent.document_id,
                "kind": consent.kind,
                "version": consent.version,
                "accepted_at": consent.accepted_at,
            },
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )
