"""Clients' bank accounts for payouts: IBAN and BIC validated (schwifty: checksums and each
country's format and bank registry), paid to only once staff have verified them."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.db import IntegrityError, transaction
from schwifty import BIC, IBAN
from schwifty.exceptions import SchwiftyException

from audit.services import audit_record
from brokercrm.errors import Conflict, PermissionDenied, ValidationFailed
from brokercrm.scoping import scope_for

from ..models import BankAccount

if TYPE_CHECKING:
    from identity.models import ClientProfile


def bank_account_add(
    *, actor: Any, profile: ClientProfile, iban: str, holder: str, bic: str = ""
) -> BankAccount:
    errors: dict[str, list[str]] = {}
    try:
        parsed = IBAN(iban)
    except (SchwiftyException, ValueError) as exc:
        errors["iban"] = [str(exc) or "Not a valid IBAN."]
        parsed = None
    checked_bic = ""
    if bic.strip():
        try:
            checked_bic = BIC(bic).compact
        except (SchwiftyException, ValueError) as exc:
            errors["bic"] = [str(exc) or "Not a valid BIC."]
    elif parsed is not None and parsed.bic is not None:
        checked_bic = parsed.bic.compact
    if parsed is not None and checked_bic and BIC(checked_bic).country_code != parsed.country_code:
        errors["bic"] = ["The BIC is of another country than the IBAN."]
    if not holder.strip():
        errors["holder"] = ["Give the account holder's name."]
    if errors:
        raise ValidationFailed(
            "The bank account is not valid.", code="bank_account_invalid", extra={"errors": errors}
        )
    assert parsed is not None
    try:
        with transaction.atomic():
            account = BankAccount.objects.create(
                entity_id=profile.entity_id,
                profile=profile,
                iban=parsed.compact,
                bic=checked_bic,
                holder=holder.strip()[:200],
            )
            audit_record(
                actor=actor if getattr(actor, "is_authenticated", False) else None,
                actor_label=None
                if getattr(actor, "is_authenticated", False)
                else f"client:{profile.pk}",
                action="payments.bank_account_added",
                entity=profile.entity_id,
                obj=account,
                after={"iban": f"{parsed.compact[:4]}…{parsed.compact[-4:]}", "bic": checked_bic},
            )
    except IntegrityError:
        raise Conflict(
            "This IBAN is already on the client's profile.", code="bank_account_exists"
        ) from None
    return account


def bank_account_verify(*, actor: Any, account: BankAccount, reason: str) -> BankAccount:
    """Staff confirm the client owns the account (e.g. a statement in the holder's name)."""
    if not reason.strip():
        raise ValidationFailed("Say how the account was verified.", code="reason_required")
    if not scope_for(actor, "payments.change_bankaccount").contains(account):
        raise PermissionDenied()
    with transaction.atomic():
        updated = (
            BankAccount.objects.in_entity(account.entity_id)
            .filter(pk=account.pk, verified=False)
            .update(verified=True)
        )
        if not updated:
            raise Conflict("The account is already verified.", code="bank_account_verified")
        audit_record(
            actor=actor,
            action="payments.bank_account_verified",
            entity=account.entity_id,
            obj=account,
            after={"reason": reason},
        )
    return BankAccount.objects.in_entity(account.entity_id).get(pk=account.pk)
