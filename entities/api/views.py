from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from brokercrm.api.base import ScopedViewSet, scoped
from brokercrm.errors import NotFound
from brokercrm.scoping import scope_for

from .. import selectors, services
from ..models import Brand, CountryRoute, Desk, LegalEntity, RuleSet
from . import serializers as s


class LegalEntityViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedViewSet):
    base_queryset = LegalEntity.objects.all()
    view_permission = "entities.view_legalentity"
    serializer_class = s.LegalEntitySerializer

    @extend_schema(request=s.LegalEntityUpdateSerializer, responses=s.LegalEntitySerializer)
    def partial_update(self, request: Request, pk: str | None = None) -> Response:
        entity = self.get_object()
        self.require("entities.change_legalentity", entity)
        data = s.LegalEntityUpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        changes = dict(data.validated_data)
        reason = changes.pop("reason")
        entity = services.entity_update(actor=self.actor, entity=entity, reason=reason, **changes)
        return Response(s.LegalEntitySerializer(entity).data)


class BrandViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedViewSet):
    base_queryset = Brand.objects.select_related("entity")
    view_permission = "entities.view_brand"
    serializer_class = s.BrandSerializer

    def create(self, request: Request) -> Response:
        data = s.BrandSerializer(data=request.data, context=self.get_serializer_context())
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        brand = services.brand_create(actor=self.actor, entity=fields.pop("entity"), **fields)
        return Response(s.BrandSerializer(brand).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=s.BrandUpdateSerializer, responses=s.BrandSerializer)
    def partial_update(self, request: Request, pk: str | None = None) -> Response:
        brand = self.get_object()
        self.require("entities.change_brand", brand)
        data = s.BrandUpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        changes = dict(data.validated_data)
        reason = changes.pop("reason")
        brand = services.brand_update(actor=self.actor, brand=brand, reason=reason, **changes)
        return Response(s.BrandSerializer(brand).data)


class DeskViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedViewSet):
    base_queryset = Desk.objects.all()
    view_permission = "entities.view_desk"
    serializer_class = s.DeskSerializer

    def create(self, request: Request) -> Response:
        data = s.DeskSerializer(data=request.data, context=self.get_serializer_context())
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        desk = services.desk_create(actor=self.actor, entity=fields.pop("entity"), **fields)
        return Response(s.DeskSerializer(desk).data, status=status.HTTP_201_CREATED)


class CountryRouteViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedViewSet):
    base_queryset = CountryRoute.objects.select_related("brand", "entity")
    view_permission = "entities.view_countryroute"
    serializer_class = s.CountryRouteSerializer

    @extend_schema(request=s.CountryRouteSetSerializer, responses=s.CountryRouteSerializer)
    def create(self, request: Request) -> Response:
        data = s.CountryRouteSetSerializer(data=request.data, context=self.get_serializer_context())
        data.is_valid(raise_exception=True)
        brand = _visible_brand(request, data.validated_data["brand"])
        route = services.country_route_set(
            actor=self.actor,
            brand=brand,
            country=data.validated_data["country"],
            entity=data.validated_data["entity"],
            reason=data.validated_data["reason"],
        )
        return Response(s.CountryRouteSerializer(route).data, status=status.HTTP_201_CREATED)

    @extend_schema(parameters=[s.RoutingQuerySerializer], responses=s.RoutingDecisionSerializer)
    @action(detail=False, methods=["get"])
    def resolve(self, request: Request) -> Response:
        """Which entity onboards a resident of `country` arriving through `brand`."""
        query = s.RoutingQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        brand = _visible_brand(request, query.validated_data["brand"])
        decision = selectors.onboarding_entity_for(
            brand=brand, country=query.validated_data["country"]
        )
        return Response(decision.explanation)


def _visible_brand(request: Request, code: str) -> Brand:
    brand = (
        scoped(Brand.objects.filter(code=code), scope_for(request.user, "entities.view_brand"))
        .select_related("entity")
        .first()
    )
    if brand is None:
        raise NotFound(f"No brand {code!r}.", code="brand_not_found")
    return brand


class RuleSetViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedViewSet):
    base_queryset = RuleSet.objects.select_related("entity")
    view_permission = "entities.view_ruleset"
    serializer_class = s.RuleSetSerializer

    def filter_rows(self, queryset):  # type: ignore[no-untyped-def]
        params = self.request.query_params
        if params.get("kind"):
            queryset = queryset.filter(kind=params["kind"])
        if params.get("entity", "").isdigit() and len(params["entity"]) <= 18:
            queryset = queryset.filter(entity_id=int(params["entity"]))
        return queryset

    @extend_schema(request=s.RuleSetPublishSerializer, responses=s.RuleSetSerializer)
    def create(self, request: Request) -> Response:
        data = s.RuleSetPublishSerializer(data=request.data, context=self.get_serializer_context())
        data.is_valid(raise_exception=True)
        ruleset = services.ruleset_publish(actor=self.actor, **data.validated_data)
        return Response(s.RuleSetSerializer(ruleset).data, status=status.HTTP_201_CREATED)
