"""Base classes for the client self-service API (`/api/v1/me/...`).

A client calls with the token its brand's front end obtained for it (`POST /client-tokens`,
brand key + the client's e-mail and password). The caller is a client login: a `User` of kind
client tied to one profile, hence one entity. Every endpoint here acts for that profile only:

- `ClientAPIView` for endpoints on the client itself (`/me/wallets`, `/me/kyc`);
- `ClientViewSet` for rows the client owns (`/me/deposits/{id}`): the queryset is always the
  entity's rows of this profile, so another client's id (same entity or not) reads as 404.

Views stay thin: they validate, call one service with `actor=self.actor` (the services pass
the gate, which allows a client only on their own profile and only `CLIENT_PERMS`), and
serialise.
"""

from __future__ import annotations

from typing import Any, ClassVar

from django.db.models import Model, QuerySet
from rest_framework import viewsets
from rest_framework.permissions import IsAuthenticated
from rest_framework.views import APIView

from brokercrm.accounts.api.authentication import ExpiringTokenAuthentication
from brokercrm.accounts.api.permissions import IsClientLogin
from brokercrm.errors import NotFound

_FINAL = ("get_queryset", "filter_queryset", "get_object")


class ClientMixin:
    """The calling client: `actor` (the login), `profile_id`, `entity_id`."""

    authentication_classes = [ExpiringTokenAuthentication]
    permission_classes = [IsAuthenticated, IsClientLogin]

    request: Any

    @property
    def actor(self) -> Any:
        return self.request.user

    @property
    def profile_id(self) -> int:
        return self.request.user.profile_id

    @property
    def profile(self) -> Any:
        """The client's profile row (with its entity), read once per request."""
        profile = getattr(self.request, "_client_profile", None)
        if profile is None:
            profile = self.request.user.profile
            self.request._client_profile = profile
        return profile

    @property
    def entity_id(self) -> int:
        return self.profile.entity_id


class ClientAPIView(ClientMixin, APIView):
    """An endpoint about the calling client."""


class ClientViewSet(ClientMixin, viewsets.GenericViewSet):
    """Rows the calling client owns. Subclasses set `base_queryset` (an entity-owned model's
    queryset) and, when the row does not carry `profile` itself, `owner_field` (a lookup such
    as "wallet__profile")."""

    base_queryset: ClassVar[QuerySet]
    owner_field: ClassVar[str] = "profile"
    lookup_value_regex = r"[0-9]{1,18}"
    not_found_code: ClassVar[str] = "not_found"

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        overridden = [name for name in _FINAL if name in cls.__dict__]
        if overridden:
            raise TypeError(
                f"{cls.__name__} overrides {', '.join(overridden)}; "
                "the client's own rows are chosen in ClientViewSet. "
                "Narrow results in filter_rows()."
            )

    def get_queryset(self) -> QuerySet:
        queryset = self.base_queryset.all()
        if hasattr(queryset, "in_entity"):
            queryset = queryset.in_entity(self.entity_id)
        return queryset.filter(**{f"{self.owner_field}_id": self.profile_id})

    def filter_rows(self, queryset: QuerySet) -> QuerySet:
        """Narrow the list by query parameters; the owner filter stays."""
        return queryset

    def filter_queryset(self, queryset: QuerySet) -> QuerySet:
        queryset = self.filter_rows(super().filter_queryset(queryset))
        return queryset.filter(**{f"{self.owner_field}_id": self.profile_id})

    def get_object(self) -> Model:
        lookup = self.kwargs.get(self.lookup_url_kwarg or self.lookup_field)
        obj = (
            self.filter_queryset(self.get_queryset()).filter(**{self.lookup_field: lookup}).first()
        )
        if obj is None:
            raise NotFound("No such record.", code=self.not_found_code)
        return obj
