"""Clients' bank accounts for payouts: IBAN and BIC validated (schwifty: checksums and each
country's format and bank registry), paid to only once staff have verified them."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from django.db import IntegrityError, transaction
from schwifty import BIC, IBAN
from schwifty.exceptions import SchwiftyException
from unidecode import unidecode

from audit.services import audit_record
from brokercrm.errors import Conflict, ValidationFailed
from brokercrm.gate import require

from .. import audit_actions as actions
from ..models import BankAccount

if TYPE_CHECKING:
    from identity.models import ClientProfile


def _words(text: str) -> list[str]:
    plain = unidecode(text).casefold()
    return [word for word in re.split(r"[^a-z0-9]+", plain) if word]


def holder_is_client(holder: str, profile: ClientProfile) -> bool:
    """Payouts go to the client's own account only: the holder's name carries the client's
    given name and every part of their family name (any order, case, accents, middle names
    and titles allowed), in their own script or in Latin letters."""
    words = set(_words(holder))
    for given, family in (
        (profile.given_name, profile.family_name),
        (profile.given_name_latin, profile.family_name_latin),
    ):
        given_words, family_words = _words(given or ""), _words(family or "")
        matches = bool(given_words) and given_words[0] in words
        if matches and family_words and set(family_words) <= words:
            return True
    return False


def bank_account_add(
    *, actor: Any, profile: ClientProfile, iban: str, holder: str, bic: str = ""
) -> BankAccount:
    """Add a payout account: IBAN and BIC checked, held in the client's own name; paid to
    once staff have verified it. Refused field by field (`errors`, with a code per field in
    `fields`)."""
    require(actor, "payments.add_bankaccount", profile)
    errors: dict[str, list[str]] = {}
    codes: dict[str, str] = {}
    try:
        parsed = IBAN(iban)
    except (SchwiftyException, ValueError) as exc:
        errors["iban"] = [str(exc) or "Not a valid IBAN."]
        codes["iban"] = "iban_invalid"
        parsed = None
    checked_bic = ""
    if bic.strip():
        try:
            checked_bic = BIC(bic).compact
        except (SchwiftyException, ValueError) as exc:
            errors["bic"] = [str(exc) or "Not a valid BIC."]
            codes["bic"] = "bic_invalid"
    elif parsed is not None and parsed.bic is not None:
        checked_bic = parsed.bic.compact
    if parsed is not None and checked_bic and BIC(checked_bic).country_code != parsed.country_code:
        errors["bic"] = ["The BIC is of another country than the IBAN."]
        codes["bic"] = "bic_country_mismatch"
    if not holder.strip():
        errors["holder"] = ["Give the account holder's name."]
        codes["holder"] = "holder_required"
    elif not holder_is_client(holder, profile):
        errors["holder"] = [
            "The account must be in your own name: give the holder's name as your bank "
            "shows it, with your given and family name."
        ]
        codes["holder"] = "holder_not_client"
    if errors:
        raise ValidationFailed(
            "The bank account is not valid.",
            code="bank_account_invalid",
            extra={"errors": errors, "fields": codes},
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
                action=actions.BANK_ACCOUNT_ADDED,
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
    require(actor, "payments.change_bankaccount", account)
    if not reason.strip():
        raise ValidationFailed("Say how the account was verified.", code="reason_required")
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
            action=actions.BANK_ACCOUNT_VERIFIED,
            entity=account.entity_id,
            obj=account,
            after={"reason": reason},
        )
    return BankAccount.objects.in_entity(account.entity_id).get(pk=account.pk)
