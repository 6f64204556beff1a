from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from brokercrm.api.base import ScopedViewSet
from brokercrm.errors import Conflict, NotFound, PermissionDenied
from brokercrm.scoping import scope_for

from .. import services
from ..models import ClientProfile, DuplicateCase, Person, PersonMerge
from . import serializers as s
from .auth import BrandKeyAuthentication, IsBrandKey

STATUS_FOR_OUTCOME = {"new": "accepted", "auto_link": "accepted", "review": "pending_review"}


class RegistrationView(APIView):
    """A brand front end registers an applicant. The brand comes from the API key."""

    authentication_classes = [BrandKeyAuthentication]
    permission_classes = [IsBrandKey]

    @extend_schema(
        request=s.RegistrationSerializer, responses={201: s.RegistrationResultSerializer}
    )
    def post(self, request: Request) -> Response:
        data = s.RegistrationSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        document = values.pop("document", None)
        result = services.registration_submit(
            brand=request.auth.brand,
            data=services.RegistrationInput(
                **values,
                document=services.DocumentInput(
                    doc_type=document["type"],
                    number=document["number"],
                    issuing_country=document["issuing_country"],
                    expires_on=document.get("expires_on"),
                )
                if document
                else None,
            ),
        )
        if result.outcome == "block":
            raise services.RegistrationRefused()
        if result.outcome == "duplicate":
            raise Conflict(
                "An account already exists for this person with us; "
                "please log in or contact support.",
                code="already_registered",
            )
        return Response(
            {
                "registration_id": result.decision.pk,
                "status": STATUS_FOR_OUTCOME[result.outcome],
                "profile_id": result.profile.pk,
                "entity": result.profile.entity.code,
                "login": bool(values.get("password")),
                "referral_attributed": result.referral_attributed,
            },
            status=status.HTTP_201_CREATED,
        )


class ClientProfileViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedViewSet):
    base_queryset = ClientProfile.objects.select_related("person", "brand", "entity")
    view_permission = "identity.view_clientprofile"
    serializer_class = s.ClientProfileSerializer

    def filter_rows(self, queryset):  # type: ignore[no-untyped-def]
        params = self.request.query_params
        if params.get("status"):
            queryset = queryset.filter(status=params["status"][:12])
        if params.get("email"):
            queryset = queryset.filter(email_canonical__iexact=params["email"][:254].strip())
        return queryset

    @extend_schema(request=s.ClientProfileUpdateSerializer, responses=s.ClientProfileSerializer)
    def partial_update(self, request: Request, pk: str | None = None) -> Response:
        profile = self.get_object()
        self.require("identity.change_clientprofile", profile)
        data = s.ClientProfileUpdateSerializer(
            data=request.data, context=self.get_serializer_context()
        )
        data.is_valid(raise_exception=True)
        changes = dict(data.validated_data)
        reason = changes.pop("reason")
        profile = services.profile_update(
            actor=self.actor, profile=profile, reason=reason, **changes
        )
        return Response(
            s.ClientProfileSerializer(profile, context=self.get_serializer_context()).data
        )


class DuplicateCaseViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedViewSet):
    """The duplicate review queue of the entities the user reviews."""

    base_queryset = DuplicateCase.objects.select_related("entity")
    view_permission = "identity.view_duplicatecase"
    serializer_class = s.DuplicateCaseSerializer

    def filter_rows(self, queryset):  # type: ignore[no-untyped-def]
        if self.action != "list":
            return queryset
        # The queue shows open cases unless asked for another status (or "all").
        wanted = self.request.query_params.get("status", "open")
        return queryset if wanted == "all" else queryset.filter(status=wanted[:10])

    def retrieve(self, request: Request, pk: str | None = None) -> Response:
        """Both records side by side, with the per-field evidence."""
        case = self.get_object()
        context = self.get_serializer_context()
        profile = (
            ClientProfile.objects.in_entity(case.entity_id)
            .select_related("brand", "entity")
            .get(pk=case.profile_id)
        )
        candidate = Person.objects.get(pk=case.candidate_id)
        # The candidate's profiles in other entities are shown as facts (where, since when,
        # which status), not their contents: those belong to the other entities.
        candidate_profiles = [
            {
                "entity": entity_code,
                "brand": brand_code,
                "status": status_value,
                "created_at": created,
            }
            for entity_code, brand_code, status_value, created in ClientProfile.objects.unscoped()
            .filter(person=candidate)
            .values_list("entity__code", "brand__code", "status", "created_at")
        ]
        return Response(
            {
                **s.DuplicateCaseSerializer(case, context=context).data,
                "new": {
                    "person": s.PersonSummarySerializer(
                        Person.objects.get(pk=case.new_person_id)
                    ).data,
                    "profile": s.ClientProfileSerializer(profile, context=context).data,
                },
                "candidate": {
                    "person": s.PersonSummarySerializer(candidate).data,
                    "profiles": candidate_profiles,
                },
            }
        )

    @extend_schema(request=s.DuplicateCaseDecisionSerializer, responses=s.DuplicateCaseSerializer)
    @action(detail=True, methods=["post"])
    def decide(self, request: Request, pk: str | None = None) -> Response:
        case = self.get_object()
        self.require("identity.review_duplicatecase", case)
        data = s.DuplicateCaseDecisionSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        case = services.duplicate_case_decide(actor=self.actor, case=case, **data.validated_data)
        return Response(s.DuplicateCaseSerializer(case, context=self.get_serializer_context()).data)

    @extend_schema(request=s.ReasonSerializer, responses=s.PersonMergeSerializer)
    @action(detail=True, methods=["post"])
    def unmerge(self, request: Request, pk: str | None = None) -> Response:
        """Undo the merge this case's link decision made."""
        case = self.get_object()
        if not scope_for(request.user, "identity.merge_person").contains(case):
            raise PermissionDenied(
                "You may not undo merges in this entity.", code="permission_denied"
            )
        data = s.ReasonSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        merge = PersonMerge.objects.filter(case_id=case.pk, undone_at__isnull=True).first()
        if merge is None:
            raise NotFound("This case has no merge to undo.", code="merge_not_found")
        merge = services.person_unmerge(
            actor=self.actor, merge=merge, reason=data.validated_data["reason"]
        )
        return Response(s.PersonMergeSerializer(merge).data)
