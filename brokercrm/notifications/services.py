"""Telling the client: the after-commit handler that turns an event into a notification and an
e-mail, and the client marking notifications read."""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext

from brokercrm.events.models import Event
from brokercrm.gate import require

from .models import Notification
from .registry import NotificationKind, Recipient, kinds, kinds_for, recipient

logger = logging.getLogger(__name__)


def client_language(language: str) -> str:
    """The client's language if the product writes in it, else the default."""
    codes = {code for code, _name in settings.LANGUAGES}
    return language if language in codes else settings.LANGUAGE_CODE


def notifications_for_event(event: Any) -> list[Notification]:
    """Tell the event's client what happened: one notification per registered kind, e-mailed
    once. Delivered from the outbox at least once; a redelivery finds the notification made
    and sends only an e-mail that did not go out yet."""
    if event.profile_id is None:
        return []
    specs = kinds_for(event.type)
    if not specs:
        return []
    who = recipient(event.profile_id)
    if who is None or (event.entity_id is not None and who.entity_id != event.entity_id):
        # No such client in the event's entity: nothing the client of another entity may read.
        logger.warning("Event %s names profile %s of no such entity", event.pk, event.profile_id)
        return []
    made = []
    for spec in specs:
        notification = _notification_for(event, spec, who)
        if notification is None:
            continue
        if notification.email_status == Notification.EmailStatus.PENDING:
            _email(notification, who)
        made.append(notification)
    return made


def _email_status(who: Recipient) -> str:
    if not who.email:
        return Notification.EmailStatus.NO_ADDRESS
    if not who.email_verified:
        # Only a verified address is written to: an unverified one may be anybody's.
        return Notification.EmailStatus.UNVERIFIED
    return Notification.EmailStatus.PENDING


def _notification_for(event: Any, spec: NotificationKind, who: Recipient) -> Notification | None:
    rows = Notification.objects.unscoped()
    existing = rows.filter(event_id=event.pk, kind=spec.kind, profile_id=who.profile_id).first()
    if existing is not None:
        return existing
    language = client_language(who.language)
    with translation.override(language):
        context = spec.build(event)
        if context is None:
            return None
        context = {"name": who.name, "brand": who.brand_name, **context}
        title = gettext(spec.title) % context
        body = gettext(spec.body) % context
    try:
        with transaction.atomic():
            return rows.create(
                entity_id=who.entity_id,
                profile_id=who.profile_id,
                kind=spec.kind,
                event_id=event.pk,
                language=language,
                title=title[:200],
                body=body,
                email_status=_email_status(who),
            )
    except IntegrityError:  # a concurrent delivery of the same event made it
        return rows.get(event_id=event.pk, kind=spec.kind, profile_id=who.profile_id)


def _email(notification: Notification, who: Recipient) -> None:
    with translation.override(notification.language):
        context = {
            "notification": notification,
            "name": who.name,
            "brand": who.brand_name,
            "language": notification.language,
            "direction": "rtl" if translation.get_language_bidi() else "ltr",
        }
        text = render_to_string("notifications/email.txt", context)
        html = render_to_string("notifications/email.html", context)
    message = EmailMultiAlternatives(
        subject=notification.title,
        body=text,
        from_email=who.from_email or settings.DEFAULT_FROM_EMAIL,
        to=[who.email],
        headers={"Content-Language": notification.language},
    )
    message.attach_alternative(html, "text/html")
    # Raises when the mail server refuses: the delivery is retried and sends again then.
    message.send()
    Notification.objects.unscoped().filter(
        pk=notification.pk, email_status=Notification.EmailStatus.PENDING
    ).update(email_status=Notification.EmailStatus.SENT, emailed_at=timezone.now())
    notification.email_status = Notification.EmailStatus.SENT


def notification_read(*, actor: Any, notification: Notification) -> Notification:
    """The client has read this notification (reading it again keeps the first time).

    Not audited: it changes what the client's own list shows and nothing else."""
    require(actor, "notifications.change_notification", notification)
    if notification.read_at is None:
        with transaction.atomic(durable=True):
            Notification.objects.unscoped().filter(pk=notification.pk, read_at__isnull=True).update(
                read_at=timezone.now()
            )
        notification.refresh_from_db(fields=["read_at"])
    return notification


def notifications_read_all(*, actor: Any, profile: Any) -> int:
    """Mark every unread notification of the client's profile read; returns how many."""
    require(actor, "notifications.change_notification", profile)
    with transaction.atomic(durable=True):
        return (
            Notification.objects.in_entity(profile.entity_id)
            .filter(profile_id=profile.pk, read_at__isnull=True)
            .update(read_at=timezone.now())
        )


def unread_count(*, entity_id: int, profile_id: int) -> int:
    return (
        Notification.objects.in_entity(entity_id)
        .filter(profile_id=profile_id, read_at__isnull=True)
        .count()
    )


def notifications_backfill(*, limit: int = 1000) -> int:
    """Tell clients about events announced before anything was registered for them (the demo
    data, a kind added later); returns how many notifications were made. Idempotent."""
    types = sorted({spec.event_type for spec in kinds()})
    made = 0
    events = Event.objects.filter(type__in=types, profile_id__isnull=False).order_by("pk")
    for event in events[:limit]:
        before = Notification.objects.unscoped().filter(event_id=event.pk).count()
        notifications_for_event(event)
        made += Notification.objects.unscoped().filter(event_id=event.pk).count() - before
    return made
