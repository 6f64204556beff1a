from __future__ import annotations

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from ..models import RoleGrant


class MeView(APIView):
    """Who am I, and which roles do I hold where."""

    @extend_schema(
        responses=inline_serializer(
            "Me",
            {
                "id": serializers.IntegerField(),
                "username": serializers.CharField(),
                "is_superuser": serializers.BooleanField(),
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
