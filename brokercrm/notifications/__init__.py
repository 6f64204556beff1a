"""Client notifications: what the client is told, in the app and by e-mail, in their language.

The kernel imports no app, so the apps fill two registries when they start
(`<app>/notifications.py`, called from the app's `AppConfig.ready()`):

- `register(EVENT, kind=..., title=..., body=..., build=...)`: this event type tells the client
  something. `build(event)` returns the context for the texts from the event's payload (or None:
  nothing to tell for this event). Texts are gettext messages with `%(name)s` placeholders,
  translated from this package's catalogue (`locale/`) into the client's language.
- `recipient_register(fn)`: identity says who a profile is (e-mail, language, name, whether the
  address is verified); the kernel asks it through `recipient()`, never identity itself.

Each registered event type gets one after-commit subscriber (`notifications.<event type>`),
delivered from the outbox at least once; the notification is unique per event, kind and
profile, so a redelivery creates nothing twice and e-mails once."""

from .registry import (
    NotificationKind,
    Recipient,
    kinds,
    kinds_for,
    recipient,
    recipient_register,
    register,
)

__all__ = [
    "NotificationKind",
    "Recipient",
    "kinds",
    "kinds_for",
    "recipient",
    "recipient_register",
    "register",
]
