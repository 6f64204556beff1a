"""The client's notifications: `/api/v1/me/notifications`, newest first, with the unread count;
marking one or all read."""

from __future__ import annotations

from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from brokercrm.api.client import ClientViewSet
from brokercrm.errors import ValidationFailed

from .. import services
from ..models import Notification
from . import serializers as s

_FLAGS = {"true": True, "1": True, "false": False, "0": False}


class MyNotificationViewSet(mixins.ListModelMixin, ClientViewSet):
    base_queryset = Notification.objects.select_related("event").order_by("-created_at", "-pk")
    serializer_class = s.NotificationSerializer

    def filter_rows(self, queryset: QuerySet) -> QuerySet:
        wanted = self.request.query_params.get("unread")
        if wanted is None:
            return queryset
        if wanted.lower() not in _FLAGS:
            raise ValidationFailed(
                "Filter with unread=true or unread=false.", code="unread_invalid"
            )
        return queryset.filter(read_at__isnull=_FLAGS[wanted.lower()])

    def _unread(self) -> int:
        return services.unread_count(entity_id=self.entity_id, profile_id=self.profile_id)

    @extend_schema(
        parameters=[OpenApiParameter("unread", bool, description="only unread (true) or read")],
        responses=s.NotificationPageSerializer,
    )
    def list(self, request: Request) -> Response:
        """My notifications, newest first (50 a page), with how many are unread in all."""
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        response = self.get_paginated_response(self.get_serializer(page, many=True).data)
        response.data["unread"] = self._unread()
        return response

    @extend_schema(request=None, responses=s.NotificationSerializer)
    @action(detail=True, methods=["post"])
    def read(self, request: Request, pk: str | None = None) -> Response:
        """Mark one of my notifications read (again: no change)."""
        notification = services.notification_read(actor=self.actor, notification=self.get_object())
        return Response(self.get_serializer(notification).data)

    @extend_schema(request=None, responses=s.ReadAllSerializer)
    @action(detail=False, methods=["post"], url_path="read-all")
    def read_all(self, request: Request) -> Response:
        """Mark all my notifications read."""
        marked = services.notifications_read_all(actor=self.actor, profile=self.profile)
        return Response({"marked": marked, "unread": self._unread()})
