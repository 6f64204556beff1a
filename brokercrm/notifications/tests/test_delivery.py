"""Events become notifications and e-mails in the client's language, once per event."""

from __future__ import annotations

import pytest
from django.core import mail
from django.utils import translation

from brokercrm import notifications
from brokercrm.events.models import Delivery
from brokercrm.events.registry import EventType, subscriber
from brokercrm.notifications.models import Notification
from brokercrm.notifications.registry import unregister
from brokercrm.notifications.services import notifications_backfill
from kyc import events as kyc_events
from payments import events as payment_events
from platforms import events as platform_events

from .helpers import client, told

NOTIFYING = {
    "kyc.document_requested": "document_requested",
    "kyc.kyc_approved": "kyc_approved",
    "kyc.kyc_rejected": "kyc_rejected",
    "payments.deposit_credited": "deposit_credited",
    "payments.withdrawal_paid": "withdrawal_paid",
    "payments.withdrawal_rejected": "withdrawal_rejected",
    "platforms.margin_call": "margin_call",
}


def rows(profile=None):
    queryset = Notification.objects.unscoped().order_by("pk")
    return queryset.filter(profile_id=profile.pk) if profile else queryset


# --- the registry --------------------------------------------------------------------------
def test_each_app_registers_what_tells_the_client():
    registered = {spec.event_type: spec.kind for spec in notifications.kinds()}
    assert registered == NOTIFYING
    for event_type in NOTIFYING:
        found = subscriber(f"notifications.{event_type}")
        assert found is not None
        assert found.in_transaction is False


def test_every_text_is_written_in_spanish_and_arabic():
    for spec in notifications.kinds():
        for language in ("es", "ar"):
            with translation.override(language):
                assert translation.gettext(spec.title) != spec.title, (spec.kind, language)
                assert translation.gettext(spec.body) != spec.body, (spec.kind, language)


def test_registering_again_keeps_one_kind_and_a_kind_belongs_to_one_event():
    again = notifications.register(
        kyc_events.KYC_APPROVED, kind="kyc_approved", title="other", body="other"
    )
    assert again.title == "Your account is verified"
    assert [s.kind for s in notifications.kinds_for("kyc.kyc_approved")] == ["kyc_approved"]
    with pytest.raises(ValueError, match="another event"):
        notifications.register(kyc_events.KYC_REJECTED, kind="kyc_approved", title="t", body="b")
    with pytest.raises(ValueError, match="stable code"):
        notifications.register(kyc_events.KYC_REJECTED, kind="Not a code!", title="t", body="b")


# --- delivery ------------------------------------------------------------------------------
def test_kyc_approval_tells_the_client_in_english_once_even_when_delivered_again(world):
    profile = client(world.eu_brand)
    event = told(kyc_events.KYC_APPROVED, profile, {"decided_by": "auto"})

    [notification] = rows(profile)
    assert (notification.kind, notification.event_id, notification.entity_id) == (
        "kyc_approved",
        event.pk,
        world.eu.pk,
    )
    assert notification.language == "en"
    assert notification.title == "Your account is verified"
    assert notification.body == (
        "Good news: we have verified your identity. You can now fund your account and "
        "start trading."
    )
    assert notification.read_at is None
    assert notification.email_status == Notification.EmailStatus.SENT
    [email] = mail.outbox
    assert email.to == [profile.email]
    assert email.subject == "Your account is verified"
    assert email.body.startswith("Dear Trader,\n\nGood news: we have verified your identity.")
    assert profile.brand.name in email.body
    html, mimetype = email.alternatives[0]
    assert mimetype == "text/html"
    assert 'dir="ltr"' in html
    assert 'lang="en"' in html

    # the outbox delivers again (a worker died after the handler ran): nothing twice
    Delivery.objects.filter(event=event).update(
        status=Delivery.Status.PENDING, due_at=event.occurred_at
    )
    from brokercrm.events.bus import deliver_due

    assert deliver_due() == {"delivered": 1, "failed": 0}
    assert rows(profile).count() == 1
    assert len(mail.outbox) == 1


def test_deposit_credited_in_spanish(world):
    profile = client(world.eu_brand, language="es")
    told(
        payment_events.DEPOSIT_CREDITED,
        profile,
        {
            "deposit_id": 7,
            "amount": "1250",
            "currency": "EUR",
            "wallet_currency": "EUR",
            "credited_amount": "1250.00000000",
        },
    )
    [notification] = rows(profile)
    assert notification.language == "es"
    assert notification.title == "Su depósito ha llegado"
    assert notification.body == "Hemos abonado 1,250.00 EUR en su monedero."
    [email] = mail.outbox
    assert email.subject == "Su depósito ha llegado"
    assert email.body.startswith("Hola, Trader:\n\nHemos abonado 1,250.00 EUR en su monedero.")
    assert email.extra_headers["Content-Language"] == "es"


def test_withdrawal_rejected_in_arabic_right_to_left(world):
    profile = client(world.eu_brand, language="ar")
    told(
        payment_events.WITHDRAWAL_REJECTED,
        profile,
        {"withdrawal_id": 3, "amount": "99.5", "currency": "USD", "reason_code": "x", "reason": ""},
    )
    [notification] = rows(profile)
    assert notification.title == "لم تتم معالجة طلب السحب"
    assert notification.body == (
        "لم نتمكن من معالجة طلب سحب 99.50 USD. أُعيد المبلغ إلى محفظتك. "
        "يرجى التواصل مع فريق الدعم إذا احتجت إلى المساعدة."
    )
    [email] = mail.outbox
    assert email.subject == "لم تتم معالجة طلب السحب"
    html, _ = email.alternatives[0]
    assert '<html lang="ar" dir="rtl">' in html
    assert "text-align: right" in html
    assert "يمكنك قراءة جميع إشعاراتك عند تسجيل الدخول إلى حسابك." in email.body


def test_document_requested_names_the_document_and_the_reviewers_note(world):
    profile = client(world.eu_brand)
    told(
        kyc_events.DOCUMENT_REQUESTED,
        profile,
        {
            "document_id": 1,
            "kind": "proof_of_address",
            "reason_code": "blurred",
            "reason": "Blurred",
        },
    )
    spanish = client(world.eu_brand, language="es")
    told(kyc_events.DOCUMENT_REQUESTED, spanish, {"document_id": None, "kind": "unknown"})
    assert rows(profile).get().body == (
        "To complete your verification, please upload a proof of address in your account. "
        "The reviewer's note: Blurred"
    )
    assert rows(spanish).get().body == (
        "Para completar su verificación, suba un documento en su cuenta."
    )


def test_margin_call_and_the_other_decisions(world):
    profile = client(world.uk_brand, language="es")
    told(
        platform_events.MARGIN_CALL,
        profile,
        {
            "account_id": 1,
            "login": 500123,
            "margin_level": "48.5",
            "equity": "210",
            "currency": "GBP",
        },
    )
    told(
        payment_events.WITHDRAWAL_PAID,
        profile,
        {"withdrawal_id": 1, "amount": "10", "currency": "GBP"},
    )
    told(kyc_events.KYC_REJECTED, profile, {"reason_code": "sanctions", "decided_by": "staff"})
    margin, paid, rejected = rows(profile)
    assert margin.title == "Llamada de margen en la cuenta 500123"
    assert margin.body.startswith(
        "El nivel de margen de su cuenta de trading 500123 ha bajado al 48.50% "
        "(capital 210.00 GBP)."
    )
    assert paid.body.startswith("Hemos pagado su retirada de 10.00 GBP.")
    assert (rejected.kind, rejected.title) == (
        "kyc_rejected",
        "No hemos podido verificar su cuenta",
    )
    assert [m.subject for m in mail.outbox] == [margin.title, paid.title, rejected.title]


def test_an_event_about_no_profile_tells_nobody(world):
    event = told(kyc_events.KYC_APPROVED, None, entity=world.eu.pk)
    assert rows().count() == 0
    assert mail.outbox == []
    assert Delivery.objects.get(event=event).status == Delivery.Status.DONE


def test_an_event_naming_a_client_of_another_entity_tells_nobody(world):
    profile = client(world.uk_brand)
    told(kyc_events.KYC_APPROVED, profile, entity=world.eu.pk)
    assert rows().count() == 0
    assert mail.outbox == []


def test_an_unverified_address_gets_no_email_but_the_app_shows_it(world):
    profile = client(world.eu_brand, verified=False)
    told(kyc_events.KYC_APPROVED, profile)
    assert rows(profile).get().email_status == Notification.EmailStatus.UNVERIFIED
    assert mail.outbox == []


def test_a_refused_email_is_sent_when_the_delivery_is_retried(world, monkeypatch):
    profile = client(world.eu_brand)
    from django.core.mail import EmailMultiAlternatives

    real_send = EmailMultiAlternatives.send
    monkeypatch.setattr(
        EmailMultiAlternatives, "send", lambda self, *a, **k: (_ for _ in ()).throw(OSError("down"))
    )
    event = told(kyc_events.KYC_APPROVED, profile)
    delivery = Delivery.objects.get(event=event)
    assert (delivery.status, delivery.attempts) == (Delivery.Status.PENDING, 1)
    assert "OSError: down" in delivery.last_error
    assert rows(profile).get().email_status == Notification.EmailStatus.PENDING

    monkeypatch.setattr(EmailMultiAlternatives, "send", real_send)
    Delivery.objects.filter(pk=delivery.pk).update(due_at=delivery.event.occurred_at)
    from brokercrm.events.bus import deliver_due

    assert deliver_due() == {"delivered": 1, "failed": 0}
    assert rows(profile).get().email_status == Notification.EmailStatus.SENT
    assert len(mail.outbox) == 1


def test_a_kind_whose_build_declines_tells_nothing(world):
    quiet = EventType("tests.quiet", "A test event")
    notifications.register(quiet, kind="tests_quiet", title="t", body="b", build=lambda event: None)
    try:
        profile = client(world.eu_brand)
        told(quiet, profile)
        assert rows().count() == 0
    finally:
        unregister("tests.quiet", "tests_quiet")


def test_backfill_tells_about_events_announced_earlier_once(world):
    profile = client(world.eu_brand)
    from django.db import transaction

    from brokercrm.events.bus import announce

    with transaction.atomic():
        announce(kyc_events.KYC_APPROVED, entity=world.eu.pk, profile=profile.pk)
    assert notifications_backfill() == 1
    assert notifications_backfill() == 0
    assert rows(profile).count() == 1
    assert len(mail.outbox) == 1
