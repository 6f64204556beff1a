from __future__ import annotations

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from ..models import RoleGrant
from ..tokens import client_token_revoke
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


class ClientTokenCurrentView(APIView):
    """A client logs out: its token stops working at once (token calls only)."""

    authentication_classes = [ExpiringTokenAuthentication]
    permission_classes = [IsAuthenticated, IsClientLogin]

    @extend_schema(request=None, responses={204: None})
    def delete(self, request: Request) -> Response:
        client_token_revoke(token=request.auth)
        return Response(status=status.HTTP_204_NO_CONTENT)
