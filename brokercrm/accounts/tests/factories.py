from __future__ import annotations

from typing import Any

import factory

from brokercrm.accounts.models import RoleGrant, User
from brokercrm.accounts.services import role_get, role_grant
from brokercrm.gate import SYSTEM, system

PASSWORD = "correct-horse-battery"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"staff{n}")
    email = factory.LazyAttribute(lambda user: f"{user.username}@example.com")
    is_staff = True
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def persist_password(self, create: bool, extracted: Any, **kwargs: Any) -> None:
        if create:
            self.save(update_fields=["password"])


def grant(user: User, role_code: str, **where: Any) -> RoleGrant:
    return role_grant(
        actor=SYSTEM, user=user, role=role_get(role_code), reason="test setup", **where
    )


CLIENT_PASSWORD = "purple-tiger-evening-42"


def client_login(profile: Any, password: str = CLIENT_PASSWORD) -> User:
    from identity.logins import client_login_create

    return client_login_create(actor=system("client_login"), profile=profile, password=password)
