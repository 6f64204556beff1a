"""Client logins over the API: a brand front end logs its client in; staff open a profile's
portal login."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from brokercrm.accounts.api import serializers as s
from brokercrm.api.base import ScopedViewSet

from ..logins import client_login_create, client_token_obtain, client_token_obtain_with_code
from ..models import ClientProfile
from .auth import BrandKeyAuthentication, IsBrandKey


class ClientTokenView(APIView):
    """A brand front end logs a client in: e-mail and password in, API token out.

    Only logins of the brand's entity are found; a wrong password, an unknown address and
    another entity's login all answer 400 `login_failed`."""

    authentication_classes = [BrandKeyAuthentication]
    permission_classes = [IsBrandKey]

    @extend_schema(request=s.ClientTokenRequestSerializer, responses={200: s.ClientTokenSerializer})
    def post(self, request: Request) -> Response:
        data = s.ClientTokenRequestSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        if values.get("challenge"):
            token = client_token_obtain_with_code(
                brand=request.auth.brand, challenge=values["challenge"], code=values["otp"]
            )
        else:
            token = client_token_obtain(
                brand=request.auth.brand,
                email=values["email"],
                password=values["password"],
                entity_code=values.get("entity", ""),
            )
        return Response({"token": token.key, "profile_id": token.user.profile_id})


class ClientProfileLoginViewSet(ScopedViewSet):
    """Staff open the portal login of a client profile: `POST /client-profiles/{id}/login`.

    The login's e-mail is the profile's; the password is the client's first one. A profile of
    another entity answers 404; staff who see it but may not change client profiles get 403;
    a weak password 400 `password_weak`; a second login 409 `login_exists`."""

    base_queryset = ClientProfile.objects.select_related("entity")
    view_permission = "identity.view_clientprofile"

    @extend_schema(request=s.ClientLoginCreateSerializer, responses={201: s.ClientLoginSerializer})
    def create(self, request: Request, pk: str | None = None) -> Response:
        profile = self.get_object()
        self.require("identity.change_clientprofile", profile)
        data = s.ClientLoginCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = client_login_create(
            actor=self.actor, profile=profile, password=data.validated_data["password"]
        )
        return Response(
            {
                "id": user.pk,
                "username": user.username,
                "email": user.email,
                "profile_id": user.profile_id,
            },
            status=status.HTTP_201_CREATED,
        )
