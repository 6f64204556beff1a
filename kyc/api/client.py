"""The client's own KYC under `/api/v1/me/kyc...`: where the file stands and what is still
needed, the questionnaire and the appropriateness test, documents (uploaded by side, read back
by the client), the liveness check, and submission.

Statuses, step codes and reasons are stable codes a front end translates; the sentences are
English help for developers."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpResponse
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import parsers, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from brokercrm.api.client import ClientAPIView
from brokercrm.errors import Conflict, NotFound, ValidationFailed

from .. import services
from ..models import DocumentReview, KycDocument, KycFile, client_upload_label
from . import serializers as s


class StepSerializer(serializers.Serializer):
    code = serializers.CharField(
        help_text="questionnaire, appropriateness, document_<kind>, liveness"
    )
    status = serializers.CharField(help_text="todo, done, revision_requested or not_required")
    detail = serializers.CharField()
    reason_code = serializers.CharField(help_text="Why a reviewer sent a document back.")
    reason = serializers.CharField()
    document_id = serializers.IntegerField(allow_null=True)
    extra = serializers.DictField(
        help_text="By step: `missing` answers; for documents `doc_type`, `sides_required`, "
        "`sides` (side → document id or null) and `sides_missing` (reason_code `incomplete` "
        "while one is); for liveness `mode` (vendor or selfie) and `liveness`."
    )


class LivenessSerializer(serializers.Serializer):
    status = serializers.CharField(help_text="not_started, pending, passed or failed")
    reason_code = serializers.CharField(
        help_text="liveness_failed or liveness_timeout when failed; else empty"
    )
    session_id = serializers.CharField()
    capture_url = serializers.CharField(
        help_text="The vendor's page to send the client to while pending; else empty."
    )
    attempts = serializers.IntegerField()
    max_attempts = serializers.IntegerField()
    attempts_left = serializers.IntegerField()
    started_at = serializers.DateTimeField(allow_null=True)


class MyKycSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    status = serializers.CharField()
    submitted_at = serializers.DateTimeField(allow_null=True)
    decided_at = serializers.DateTimeField(allow_null=True)
    earliest_withdrawal_at = serializers.DateTimeField(allow_null=True)
    steps = StepSerializer(many=True)
    can_submit = serializers.BooleanField()
    answers = serializers.DictField()


class MyKycDocumentSerializer(serializers.ModelSerializer):
    status = serializers.SerializerMethodField()
    downloadable = serializers.SerializerMethodField(
        help_text="The client uploaded it: GET .../documents/{id}/file returns it."
    )

    class Meta:
        model = KycDocument
        fields = [
            "id",
            "kind",
            "doc_type",
            "side",
            "version",
            "status",
            "review_reason_code",
            "review_reason",
            "content_type",
            "size",
            "uploaded_at",
            "downloadable",
        ]
        read_only_fields = fields

    def get_status(self, document: KycDocument) -> str:
        if document.review_status == DocumentReview.REVISION_REQUESTED:
            return "revision_requested"
        return "received"

    def get_downloadable(self, document: KycDocument) -> bool:
        return document.uploaded_by == client_upload_label(document.kyc_file.profile_id)


def _my_file(view: ClientAPIView) -> KycFile:
    kyc_file = KycFile.objects.in_entity(view.entity_id).filter(profile_id=view.profile_id).first()
    if kyc_file is None:
        raise NotFound(
            "Your KYC file is not open yet; please contact support.", code="kyc_file_not_found"
        )
    return kyc_file


def _my_kyc(kyc_file: KycFile) -> dict[str, Any]:
    steps = services.kyc_steps(kyc_file)
    return {
        "id": kyc_file.pk,
        "status": kyc_file.status,
        "submitted_at": kyc_file.submitted_at,
        "decided_at": kyc_file.decided_at,
        "earliest_withdrawal_at": kyc_file.earliest_withdrawal_at,
        "steps": [step.__dict__ for step in steps],
        "can_submit": kyc_file.status == KycFile.Status.DRAFT
        and all(step.status in ("done", "not_required") for step in steps),
        "answers": kyc_file.questionnaire or {},
    }


class MyKycView(ClientAPIView):
    """Where my KYC file stands and what my entity still needs from me."""

    @extend_schema(responses=MyKycSerializer)
    def get(self, request: Request) -> Response:
        return Response(MyKycSerializer(_my_kyc(_my_file(self))).data)


class MyKycAnswersView(ClientAPIView):
    section = "questionnaire"

    @extend_schema(
        request=inline_serializer("KycAnswers", {"answer": serializers.CharField()}),
        responses=MyKycSerializer,
    )
    def put(self, request: Request) -> Response:
        """Save the answers (400 `questionnaire_invalid` with `errors` and `error_codes` by
        field; 409 `kyc_file_locked` once submitted)."""
        kyc_file = services.kyc_answers_save(
            actor=self.actor, kyc_file=_my_file(self), section=self.section, answers=request.data
        )
        return Response(MyKycSerializer(_my_kyc(kyc_file)).data)


class MyAppropriatenessView(MyKycAnswersView):
    section = "appropriateness"


class MyKycDocumentsView(ClientAPIView):
    parser_classes = [parsers.MultiPartParser]

    @extend_schema(responses=MyKycDocumentSerializer(many=True))
    def get(self, request: Request) -> Response:
        """Every version I uploaded, newest first, with what a reviewer said."""
        documents = (
            KycDocument.objects.in_entity(self.entity_id)
            .filter(kyc_file=_my_file(self))
            .select_related("kyc_file")
            .order_by("kind", "-version")
        )
        return Response(MyKycDocumentSerializer(documents, many=True).data)

    @extend_schema(
        request={"multipart/form-data": s.UploadSerializer},
        responses={201: MyKycDocumentSerializer},
    )
    def post(self, request: Request) -> Response:
        """Upload a document (JPEG, PNG or PDF, judged by its content). An ID card or a
        driving licence (`doc_type` national_id, driving_licence) is two uploads, `side` front
        and back; a passport or any other document is one page, without `side`. 400
        `upload_too_large`, `file_type_unsupported`, `document_side_invalid`,
        `document_side_required`, `document_side_not_applicable` and the like; 409
        `kyc_file_locked`."""
        kyc_file = _my_file(self)
        data = s.UploadSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        upload = data.validated_data["file"]
        limit = getattr(settings, "KYC_UPLOAD_MAX_BYTES", 10 * 1024 * 1024)
        if upload.size > limit:
            raise ValidationFailed(
                f"Documents are limited to {limit // (1024 * 1024)} MiB.", code="upload_too_large"
            )
        if kyc_file.status != KycFile.Status.DRAFT:
            raise Conflict(
                "Documents are uploaded while the file is a draft.", code="kyc_file_locked"
            )
        document = services.document_upload(
            actor=self.actor,
            kyc_file=kyc_file,
            kind=data.validated_data["kind"],
            doc_type=data.validated_data["doc_type"],
            side=data.validated_data["side"],
            data=upload.read(),
            filename=upload.name or "",
            issued_on=data.validated_data.get("issued_on"),
            expires_on=data.validated_data.get("expires_on"),
        )
        return Response(MyKycDocumentSerializer(document).data, status=status.HTTP_201_CREATED)


class MyKycSubmitView(ClientAPIView):
    @extend_schema(request=None, responses=MyKycSerializer)
    def post(self, request: Request) -> Response:
        """Submit for checks: 400 `kyc_steps_missing` with `steps`; 409 `kyc_not_draft`. A
        low-risk file with clean documents is approved by the system within minutes."""
        kyc_file = services.kyc_client_submit(actor=self.actor, kyc_file=_my_file(self))
        return Response(MyKycSerializer(_my_kyc(kyc_file)).data)


# Extensions by the content type an upload was accepted as (kyc.uploads).
EXTENSIONS = {"image/jpeg": "jpg", "image/png": "png", "application/pdf": "pdf"}


class MyKycDocumentFileView(ClientAPIView):
    @extend_schema(
        responses={
            (200, "application/octet-stream"): OpenApiResponse(
                description="The file as uploaded, with its own content type."
            )
        }
    )
    def get(self, request: Request, document_id: str) -> HttpResponse:
        """A document I uploaded, as a download; the read is recorded in the audit log. 404
        `not_found` for any other id (another client's, or one staff added to my file)."""
        document, data = services.document_client_read(
            actor=self.actor, kyc_file=_my_file(self), document_id=int(document_id)
        )
        side = "" if document.side == KycDocument.Side.SINGLE else f"-{document.side}"
        extension = EXTENSIONS.get(document.content_type, "bin")
        response = HttpResponse(data, content_type=document.content_type)
        response["Content-Disposition"] = (
            f'attachment; filename="{document.kind}{side}-v{document.version}.{extension}"'
        )
        response["X-Content-Type-Options"] = "nosniff"
        response["Cache-Control"] = "private, no-store"
        return response


class MyLivenessView(ClientAPIView):
    @extend_schema(
        request=inline_serializer(
            "LivenessStart",
            {
                "return_url": serializers.CharField(
                    required=False,
                    help_text="Where the vendor sends the client's browser after the check.",
                )
            },
        ),
        responses={200: LivenessSerializer, 201: LivenessSerializer},
    )
    def post(self, request: Request) -> Response:
        """Start my liveness check: 201 with the vendor's `capture_url` to send me to, or
        200 with the check already pending or passed (a repeat opens nothing). The verdict
        arrives from the vendor; `GET /me/kyc` shows it on the liveness step. 409
        `liveness_not_required`, `liveness_vendor_not_configured` (upload a selfie instead),
        `liveness_attempts_exceeded`, `kyc_file_locked`; 400 `return_url_invalid`; 502
        `liveness_vendor_error` (nothing was started)."""
        body = request.data if isinstance(request.data, dict) else {}
        return_url = body.get("return_url", "")
        if not isinstance(return_url, str):
            raise ValidationFailed("return_url is an address.", code="return_url_invalid")
        state, started = services.kyc_liveness_start(
            actor=self.actor, kyc_file=_my_file(self), return_url=return_url
        )
        return Response(
            LivenessSerializer(state.as_dict()).data,
            status=status.HTTP_201_CREATED if started else status.HTTP_200_OK,
        )
