from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpResponse
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, parsers, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from brokercrm.api.base import ScopedViewSet
from brokercrm.api.webhooks import SignedWebhookView
from brokercrm.errors import ValidationFailed

from .. import services
from ..liveness import liveness_result_record
from ..models import KycDocument, KycFile
from . import serializers as s


class KycFileViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedViewSet):
    """The KYC queues of the entities the user may see, and the case view."""

    base_queryset = KycFile.objects.select_related("entity")
    view_permission = "kyc.view_kycfile"
    serializer_class = s.KycFileSerializer

    def filter_rows(self, queryset):  # type: ignore[no-untyped-def]
        wanted = self.request.query_params.get("status", "")
        return queryset.filter(status=wanted[:10]) if wanted and self.action == "list" else queryset

    def retrieve(self, request: Request, pk: str | None = None) -> Response:
        return Response(s.KycCaseSerializer(self.get_object()).data)

    @extend_schema(request=s.KycFileOpenSerializer, responses={201: s.KycFileSerializer})
    def create(self, request: Request) -> Response:
        """Open the KYC file of a profile that has none: 409 `kyc_file_exists`; a profile of
        another entity reads as unknown (400 on the field)."""
        data = s.KycFileOpenSerializer(data=request.data, context={"request": request})
        data.is_valid(raise_exception=True)
        kyc_file = services.kyc_file_open(
            actor=request.user, profile=data.validated_data["profile"]
        )
        return Response(s.KycFileSerializer(kyc_file).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=s.DecisionSerializer, responses=s.KycFileSerializer)
    @action(detail=True, methods=["post"])
    def decide(self, request: Request, pk: str | None = None) -> Response:
        kyc_file = self.get_object()
        self.require("kyc.approve_kycfile", kyc_file)
        data = s.DecisionSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        if data.validated_data["decision"] == "approve":
            kyc_file = services.kyc_approve(
                actor=request.user, kyc_file=kyc_file, reason=data.validated_data["reason"]
            )
        else:
            kyc_file = services.kyc_reject(
                actor=request.user,
                kyc_file=kyc_file,
                reason=data.validated_data["reason"],
                aml=data.validated_data["aml"],
            )
        return Response(s.KycFileSerializer(kyc_file).data)

    @extend_schema(
        request={"multipart/form-data": s.UploadSerializer},
        responses={201: s.KycDocumentSerializer},
    )
    @action(detail=True, methods=["post"], parser_classes=[parsers.MultiPartParser])
    def documents(self, request: Request, pk: str | None = None) -> Response:
        """Upload a document (staff on the client's behalf); accepted by content, not by name."""
        kyc_file = self.get_object()
        data = s.UploadSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        upload = data.validated_data["file"]
        limit = getattr(settings, "KYC_UPLOAD_MAX_BYTES", 10 * 1024 * 1024)
        if upload.size > limit:
            # Refused before reading it into memory; Django has spooled it to a temporary file.
            raise ValidationFailed(
                f"Documents are limited to {limit // (1024 * 1024)} MiB.", code="upload_too_large"
            )
        document = services.document_upload(
            actor=request.user,
            kyc_file=kyc_file,
            kind=data.validated_data["kind"],
            doc_type=data.validated_data["doc_type"],
            side=data.validated_data["side"],
            data=upload.read(),
            filename=upload.name or "",
            issued_on=data.validated_data.get("issued_on"),
            expires_on=data.validated_data.get("expires_on"),
        )
        return Response(s.KycDocumentSerializer(document).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=s.QuestionnaireSerializer, responses=s.KycFileSerializer)
    @action(detail=True, methods=["post"])
    def submit(self, request: Request, pk: str | None = None) -> Response:
        """Submit the file with the questionnaire. Which answers are required depends on the
        entity's KYC rules for the client's residence country, so the service validates it:
        400 `questionnaire_invalid` with `errors` and `error_codes` by field."""
        kyc_file = self.get_object()
        self.require("kyc.change_kycfile", kyc_file)
        answers = request.data.dict() if hasattr(request.data, "dict") else request.data
        kyc_file = services.kyc_submit(actor=request.user, kyc_file=kyc_file, questionnaire=answers)
        return Response(s.KycFileSerializer(kyc_file).data)


class KycDocumentViewSet(mixins.RetrieveModelMixin, ScopedViewSet):
    base_queryset = KycDocument.objects.all()
    view_permission = "kyc.view_kycdocument"
    serializer_class = s.KycDocumentSerializer

    @extend_schema(request=s.RevisionRequestSerializer, responses=s.KycDocumentSerializer)
    @action(detail=True, methods=["post"], url_path="revision-request")
    def revision_request(self, request: Request, pk: str | None = None) -> Response:
        """Send the document back to the client with a reason code: the file returns to them
        as a draft at that step; 409 `kyc_not_in_review`, `document_superseded`."""
        document = self.get_object()
        self.require("kyc.change_kycfile", document)
        data = s.RevisionRequestSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        document = services.document_revision_request(
            actor=request.user,
            document=document,
            reason_code=data.validated_data["reason_code"],
            reason=data.validated_data["reason"],
        )
        return Response(s.KycDocumentSerializer(document).data)

    @extend_schema(responses={(200, "application/octet-stream"): bytes})
    @action(detail=True, methods=["get"])
    def content(self, request: Request, pk: str | None = None) -> HttpResponse:
        """The file itself; the read is audited."""
        document = self.get_object()
        data = services.document_read(actor=request.user, document=document)
        response = HttpResponse(data, content_type=document.content_type)
        response["Content-Disposition"] = (
            f'attachment; filename="kyc-{document.pk}-v{document.version}"'
        )
        response["X-Content-Type-Options"] = "nosniff"
        return response


class LivenessWebhookView(SignedWebhookView):
    """The liveness vendor's answer: `liveness.completed` with the session's result."""

    source = "kyc-liveness"

    def secret_for(self, request: Request, **kwargs: Any) -> str:
        return settings.KYC_LIVENESS_WEBHOOK_SECRET

    def handle_event(self, event: dict[str, Any], raw: bytes, **kwargs: Any) -> Response:
        if event.get("type") != "liveness.completed":
            return Response({"status": "ignored"})
        data = event["data"]
        outcome = liveness_result_record(
            event_id=str(event.get("id", ""))[:100],
            session_id=str(data.get("session_id", ""))[:100],
            reference=str(data.get("reference", ""))[:200],
            result=str(data.get("result", "")),
            score=data.get("score") if isinstance(data.get("score"), int | float) else None,
        )
        return Response({"status": outcome})
