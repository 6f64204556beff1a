from rest_framework import serializers

from ..models import AuditEvent


class AuditEventSerializer(serializers.ModelSerializer):
    class Meta:
        model = AuditEvent
        fields = [
            "id",
            "seq",
            "created_at",
            "actor",
            "actor_label",
            "action",
            "entity",
            "object_type",
            "object_id",
            "before",
            "after",
            "reason",
            "request_id",
            "ip",
            "hash",
        ]
        read_only_fields = fields
