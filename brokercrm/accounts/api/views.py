from __future__ import annotations

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from brokercrm.api.base import ScopedViewSet
from identity.api.auth import BrandKeyAuthentication, IsBrandKey
from identity.models import ClientProfile

from ..models import RoleGrant
from ..services import client_login_create, client_token_obtain, client_token_revoke
from . import serializers as s
from .authentication import ExpiringTokenAuthentication
from .permissions import IsClientLogin


class MeView(APIView):
    """Who am I, and which roles do I hold where."""

    @extend_schema(
        responses=inline_serializer(
            "Me",
            {
                "id": serializers.IntegerField(),
                "username": serializers.CharField(),
                "is_superuser": serializers.BooleanField(),
                "kind": serializers.CharField(),
                "profile_id": serializers.IntegerField(allow_null=True),
                "grants": serializers.ListField(child=serializers.DictField()),
            },
        )
    )
    def get(self, request: Request) -> Response:
        grants = (
            RoleGrant.objects.filter(user=request.user, revoked_at__isnull=True)
            .select_related("role", "entity", "desk")
            .order_by("role__code")
        )
        return Response(
            {
                "id": request.user.pk,
                "username": request.user.get_username(),
                "is_superuser": request.user.is_superuser,
                "kind": request.user.kind,
                "profile_id": request.user.profile_id,
                "grants": [
                    {
                        "role": grant.role.code,
                        "entity": grant.entity.code if grant.entity_id else None,
                        "desk": grant.desk.code if grant.desk_id else None,
                        "group_wide": grant.group_wide,
                    }
                    for grant in grants
                ],
            }
        )


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
        token = client_token_obtain(
            brand=request.auth.brand,
            email=data.validated_data["email"],
            password=data.validated_data["password"],
            entity_code=data.validated_data.get("entity", ""),
        )
        return Response({"token": token.key, "profile_id": token.user.profile_id})


class ClientTokenCurrentView(APIView):
    """A client logs out: its token stops working at once (token calls only)."""

    authentication_classes = [ExpiringTokenAuthentication]
    permission_classes = [IsAuthenticated, IsClientLogin]

    @extend_schema(request=None, responses={204: None})
    def delete(self, request: Request) -> Response:
        client_token_revoke(token=request.auth)
        return Response(status=status.HTTP_204_NO_CONTENT)


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
