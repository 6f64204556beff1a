from rest_framework import mixins

from brokercrm.api.base import ScopedViewSet

from ..models import AuditEvent
from .serializers import AuditEventSerializer


class AuditEventViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedViewSet):
    """The audit trail of the entities the user may audit; read only, like the table itself."""

    base_queryset = AuditEvent.objects.all()
    view_permission = "audit.view_auditevent"
    serializer_class = AuditEventSerializer

    def filter_rows(self, queryset):  # type: ignore[no-untyped-def]
        params = self.request.query_params
        if params.get("action"):
            queryset = queryset.filter(action=params["action"][:100])
        if params.get("object_type"):
            queryset = queryset.filter(object_type=params["object_type"][:100])
        if params.get("object_id"):
            queryset = queryset.filter(object_id=params["object_id"][:64])
        return queryset
