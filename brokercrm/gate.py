"""The authorization gate: one function decides whether an actor may do something.

Every public service that acts for someone calls `require(actor, perm, target)` at its top,
before it reads or writes anything (docs/adr/0012-one-authorization-gate.md). Actors are
explicit, never `None`:

- a staff user: allowed where their grants give `perm` on the target's entity (`scope_for`);
- a client login: allowed only on their own profile and what it owns, and only for the
  client actions listed in `CLIENT_PERMS`;
- `SYSTEM` (or `system("job name")`): a job or a decision already made by the system.

Views and serializers may check earlier (a foreign id reads as unknown there); the service
always checks, so a new surface cannot forget to.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import Model

from .errors import NotFound, PermissionDenied
from .scoping import scope_for


@dataclass(frozen=True)
class SystemActor:
    """The system acting on its own account: a job, a webhook, an automatic decision."""

    label: str = "system"
    is_authenticated = False
    is_superuser = False
    pk = None

    def __str__(self) -> str:
        return self.label


SYSTEM = SystemActor()


def system(job: str) -> SystemActor:
    """A system actor that names the job, for the audit trail ("system:expiry_monitor")."""
    return SystemActor(f"system:{job}")


def is_system(actor: Any) -> bool:
    return isinstance(actor, SystemActor)


# What a client may do for themselves, through the portal or a brand's API.
CLIENT_PERMS = frozenset(
    {
        "identity.view_clientprofile",
        # Their contact details and language, e-mail verification, password (identity's
        # services say which fields a client may change).
        "identity.change_clientprofile",
        "identity.add_consent",
        "kyc.view_kycfile",
        "kyc.change_kycfile",
        "kyc.add_kycdocument",
        "wallets.view_ledgeraccount",
        "wallets.add_ledgeraccount",
        "wallets.transfer_ledgeraccount",
        "payments.add_deposit",
        "payments.add_withdrawal",
        "payments.add_bankaccount",
        "platforms.add_tradingaccount",
        "platforms.fund_tradingaccount",
        "ib.add_referralcode",
        "notifications.view_notification",
        "notifications.change_notification",
    }
)


def is_client(actor: Any) -> bool:
    return getattr(actor, "kind", None) == "client"


def _profile_id_of(target: Any) -> int | None:
    if isinstance(target, Model):
        if target._meta.label == "identity.ClientProfile":
            return target.pk
        return getattr(target, "profile_id", None)
    return None


def require(actor: Any, perm: str, target: Any = None, *, detail: str | None = None) -> None:
    """Raise unless `actor` may do `perm` ("app_label.codename") on `target`.

    `target` is a row (its entity decides), an entity id, or None for an action on no
    particular entity (then a grant in any entity, or superuser, is needed). `detail` is the
    refusal shown to a staff user who may not."""
    if actor is None:
        raise TypeError("The actor is explicit: a user, a client login or SYSTEM, never None.")
    if is_system(actor):
        return
    if is_client(actor):
        profile_id = _profile_id_of(target)
        if profile_id is None or profile_id != actor.profile_id:
            raise NotFound("No such record.", code="not_found")
        if perm not in CLIENT_PERMS:
            raise PermissionDenied(code="permission_denied")
        return
    scope = scope_for(actor, perm)
    if target is None:
        allowed = not scope.is_empty
    elif isinstance(target, int):
        allowed = scope.allows_entity(target)
    else:
        allowed = scope.contains(target)
    if not allowed:
        raise PermissionDenied(detail, code="permission_denied")


def require_superuser(actor: Any, detail: str) -> None:
    """For the few actions on the group itself (creating a legal entity): SYSTEM or a
    superuser."""
    if actor is None:
        raise TypeError("The actor is explicit: a user, a client login or SYSTEM, never None.")
    if not (is_system(actor) or getattr(actor, "is_superuser", False)):
        raise PermissionDenied(detail, code="permission_denied")


def authorised_by_caller(func: Any) -> Any:
    """Marks a building block that takes `actor` only to record who acted: the ledger's
    journals and holds, flags raised and a profile activated by a decision, a merge done
    by a duplicate-case decision. The use case that calls it passed the gate for the action
    as a whole (a client's withdrawal, compliance's KYC approval); checking again here would
    ask the client for a ledger permission they must never hold. Nothing outside the app's
    own services, a higher app's services or a job calls it."""
    func.authorised_by_caller = True
    return func
