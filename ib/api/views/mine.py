"""An IB's own business through the client API (`/api/v1/me/ib/...`): its referral links and
the clients it referred, masked. A client that is no IB gets 404 `not_an_ib`."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from brokercrm.api.client import ClientAPIView
from brokercrm.api.pagination import Pagination
from brokercrm.errors import NotFound, ValidationFailed
from entities.selectors import brands_by_code
from ib import services
from ib.models import IbPartner
from ib.referred import ib_referral_links, ib_referred_clients, referred_rows
from ib.selectors import ib_partner_of_profile


class MyReferralLinkSerializer(serializers.Serializer):
    class BrandLink(serializers.Serializer):
        brand = serializers.CharField()
        brand_name = serializers.CharField()
        url = serializers.URLField()

    id = serializers.IntegerField()
    code = serializers.CharField()
    active = serializers.BooleanField()
    brand = serializers.CharField(help_text="The brand the code was made for")
    link = serializers.URLField(help_text="The link on that brand's site")
    links = BrandLink(many=True, help_text="The link on every active brand of the entity")
    clients = serializers.IntegerField(help_text="Clients who registered with the code")
    funded_clients = serializers.IntegerField(help_text="Of those, clients who deposited")
    created_at = serializers.DateTimeField()


class MyReferralLinkCreateSerializer(serializers.Serializer):
    code = serializers.SlugField(
        max_length=40, min_length=3, required=False, help_text="Omit to get a generated one"
    )
    brand = serializers.CharField(
        max_length=40, required=False, help_text="A brand code of your entity; default yours"
    )


class MyReferredClientSerializer(serializers.Serializer):
    id = serializers.IntegerField(help_text="The attribution, not the client")
    initials = serializers.CharField()
    email = serializers.CharField(help_text="Masked")
    country = serializers.CharField()
    status = serializers.CharField()
    registered_on = serializers.DateField()
    funded = serializers.BooleanField()
    attributed_since = serializers.DateTimeField()
    source = serializers.CharField(help_text="referral (a code) or manager (moved to you)")
    code = serializers.CharField(allow_null=True)


class MyReferredClientPageSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = MyReferredClientSerializer(many=True)


class MyIbView(ClientAPIView):
    def ib(self) -> IbPartner:
        ib = ib_partner_of_profile(profile_id=self.profile_id)
        if ib is None or ib.entity_id != self.entity_id:
            raise NotFound("You are not an introducing broker with us.", code="not_an_ib")
        return ib


class MyReferralLinksView(MyIbView):
    @extend_schema(responses=MyReferralLinkSerializer(many=True))
    def get(self, request: Request) -> Response:
        """My referral codes, each with its link on every brand of my entity and counts."""
        return Response(MyReferralLinkSerializer(ib_referral_links(ib=self.ib()), many=True).data)

    @extend_schema(
        request=MyReferralLinkCreateSerializer, responses={201: MyReferralLinkSerializer}
    )
    def post(self, request: Request) -> Response:
        """A new referral code of mine (named, or generated when `code` is omitted)."""
        ib = self.ib()
        data = MyReferralLinkCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        brand_code = data.validated_data.get("brand")
        if brand_code is None:
            brand = self.profile.brand
        else:
            brand = brands_by_code().get(brand_code)
            if brand is None:
                raise ValidationFailed("There is no brand with this code.", code="brand_unknown")
        code = data.validated_data.get("code", "").lower() or services.referral_code_new()
        created = services.referral_code_create(actor=self.actor, ib=ib, brand=brand, code=code)
        row = next(link for link in ib_referral_links(ib=ib) if link["id"] == created.pk)
        return Response(MyReferralLinkSerializer(row).data, status=status.HTTP_201_CREATED)


class MyReferredClientsView(MyIbView):
    @extend_schema(responses=MyReferredClientPageSerializer)
    def get(self, request: Request) -> Response:
        """The clients attributed to me, newest first (50 a page), masked."""
        ib = self.ib()
        paginator = Pagination()
        page = paginator.paginate_queryset(ib_referred_clients(ib=ib), request, view=self)
        rows = referred_rows(list(page or []), entity_id=ib.entity_id)
        return paginator.get_paginated_response(MyReferredClientSerializer(rows, many=True).data)
