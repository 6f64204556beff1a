"""Bank accounts for payouts: IBAN/BIC validated, verified by the entity's staff."""

from __future__ import annotations

import pytest

from brokercrm.errors import ApplicationError
from brokercrm.gate import SYSTEM
from payments.models import BankAccount
from payments.services import bank_account_add, bank_account_verify

from .conftest import approved_client


def test_a_valid_iban_is_kept_compact_with_its_bank_code(payments_world):
    profile = approved_client(payments_world)
    account = bank_account_add(
        actor=SYSTEM, profile=profile, iban="DE89 3704 0044 0532 0130 00", holder="Ivan Petrov"
    )
    assert (account.iban, account.bic, account.verified) == (
        "DE89370400440532013000",
        "COBADEFFXXX",
        False,
    )
    assert str(account) == "DE89…3000"


@pytest.mark.parametrize(
    ("iban", "bic", "holder", "fields"),
    [
        ("DE89370400440532013001", "", "Ivan Petrov", ["iban"]),  # checksum
        ("XX89370400440532013000", "", "Ivan Petrov", ["iban"]),  # no such country
        ("DE8937040044053201", "", "Ivan Petrov", ["iban"]),  # wrong length
        ("DE89370400440532013000", "NOTABIC", "Ivan Petrov", ["bic"]),
        ("DE89370400440532013000", "BNPAFRPPXXX", "Ivan Petrov", ["bic"]),  # a French bank
        ("DE89370400440532013000", "", "  ", ["holder"]),
        ("DE89370400440532013000", "", "Ivan", ["holder"]),  # not the client's full name
        ("DE89370400440532013000", "", "Olga Petrova", ["holder"]),  # someone else
        ("DE8937040044053201", "", "Maria Schmidt", ["holder", "iban"]),
    ],
)
def test_bad_bank_details_are_refused_by_field(payments_world, iban, bic, holder, fields):
    profile = approved_client(payments_world)
    with pytest.raises(ApplicationError) as caught:
        bank_account_add(actor=SYSTEM, profile=profile, iban=iban, bic=bic, holder=holder)
    assert caught.value.code == "bank_account_invalid"
    assert sorted(caught.value.extra["errors"]) == fields
    assert sorted(caught.value.extra["fields"]) == fields
    assert not BankAccount.objects.unscoped().exists()


@pytest.mark.parametrize(
    "holder", ["IVAN PETROV", "Petrov, Ivan", "Mr Ivan A. Petrov", "ivan  petrov"]
)
def test_the_holder_is_the_client_in_any_order_case_or_with_middle_names(payments_world, holder):
    profile = approved_client(payments_world)
    account = bank_account_add(
        actor=SYSTEM, profile=profile, iban="DE89370400440532013000", holder=holder
    )
    assert account.holder == holder.strip()


def test_only_the_entitys_staff_verify_and_only_once(payments_world):
    profile = approved_client(payments_world)
    account = bank_account_add(
        actor=SYSTEM, profile=profile, iban="DE89370400440532013000", holder="Ivan Petrov"
    )
    with pytest.raises(ApplicationError) as caught:
        bank_account_add(
            actor=SYSTEM, profile=profile, iban="DE89370400440532013000", holder="Ivan Petrov"
        )
    assert caught.value.code == "bank_account_exists"
    with pytest.raises(ApplicationError) as caught:
        bank_account_verify(actor=payments_world.uk_finance, account=account, reason="statement")
    assert caught.value.code == "permission_denied"
    verified = bank_account_verify(
        actor=payments_world.eu_finance,
        account=account,
        reason="bank statement in the holder's name",
    )
    assert verified.verified is True
    with pytest.raises(ApplicationError) as caught:
        bank_account_verify(actor=payments_world.eu_finance, account=account, reason="again")
    assert caught.value.code == "bank_account_verified"
