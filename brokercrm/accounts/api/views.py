from __future__ import annotations

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from identity.api.auth import BrandKeyAuthentication, IsBrandKey

from ..models import RoleGrant
from ..services import client_token_obtain
from . import serializers as s


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
            entity=request.auth.brand.entity,
            email=data.validated_data["email"],
            password=data.validated_data["password"],
        )
        return Response({"token": token.key, "profile_id": token.user.profile_id})
