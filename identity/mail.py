"""The account e-mails identity sends a client: verify an address, an address changed, reset
a password, a password changed. Each text exists in every client language (en, es, ar).

Mail leaves only after the transaction that asked for it commits (`mail_after_commit`), so a
rolled-back change never tells the client it happened. Links point at the brand's own site,
whose front end calls the API with the token from the link.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from urllib.parse import urlencode

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction

logger = logging.getLogger(__name__)

LANGUAGES = ("en", "es", "ar")

# Where a brand's front end takes the links in these e-mails.
VERIFY_EMAIL_PATH = "/verify-email"
RESET_PASSWORD_PATH = "/reset-password"  # noqa: S105 - a URL path, not a secret


@dataclass(frozen=True)
class Text:
    subject: str
    body: str


TEXTS: dict[str, dict[str, Text]] = {
    "email_verification": {
        "en": Text(
            "Confirm your e-mail address",
            "Hello {name},\n\n"
            "Please confirm that {email} is your e-mail address by opening this link:\n\n"
            "{link}\n\n"
            "The link works for {hours} hours. If you did not open an account with {brand}, "
            "you can ignore this message.\n\n"
            "{brand}",
        ),
        "es": Text(
            "Confirme su dirección de correo electrónico",
            "Hola, {name}:\n\n"
            "Confirme que {email} es su dirección de correo electrónico abriendo este enlace:\n\n"
            "{link}\n\n"
            "El enlace es válido durante {hours} horas. Si no ha abierto una cuenta con "
            "{brand}, puede ignorar este mensaje.\n\n"
            "{brand}",
        ),
        "ar": Text(
            "أكّد عنوان بريدك الإلكتروني",
            "مرحبًا {name}،\n\n"
            "يرجى تأكيد أن {email} هو عنوان بريدك الإلكتروني بفتح هذا الرابط:\n\n"
            "{link}\n\n"
            "يبقى الرابط صالحًا لمدة {hours} ساعة. إذا لم تفتح حسابًا لدى {brand}، "
            "فيمكنك تجاهل هذه الرسالة.\n\n"
            "{brand}",
        ),
    },
    "email_changed": {
        "en": Text(
            "Your e-mail address was changed",
            "Hello {name},\n\n"
            "The e-mail address of your {brand} account was changed to {new_email}. "
            "From now on we write to that address.\n\n"
            "If you did not make this change, contact our support team at once.\n\n"
            "{brand}",
        ),
        "es": Text(
            "Se ha cambiado su dirección de correo electrónico",
            "Hola, {name}:\n\n"
            "La dirección de correo electrónico de su cuenta de {brand} se ha cambiado a "
            "{new_email}. A partir de ahora le escribiremos a esa dirección.\n\n"
            "Si no ha hecho usted este cambio, póngase en contacto de inmediato con nuestro "
            "equipo de atención al cliente.\n\n"
            "{brand}",
        ),
        "ar": Text(
            "تم تغيير عنوان بريدك الإلكتروني",
            "مرحبًا {name}،\n\n"
            "تم تغيير عنوان البريد الإلكتروني لحسابك لدى {brand} إلى {new_email}. "
            "سنراسلك على هذا العنوان من الآن فصاعدًا.\n\n"
            "إذا لم تقم بهذا التغيير، فتواصل مع فريق الدعم لدينا فورًا.\n\n"
            "{brand}",
        ),
    },
    "password_reset": {
        "en": Text(
            "Reset your password",
            "Hello {name},\n\n"
            "Someone asked to reset the password of your {brand} account. To choose a new "
            "password, open this link:\n\n"
            "{link}\n\n"
            "The link works once, for {hours} hours. If you did not ask for this, ignore this "
            "message: your password stays as it is.\n\n"
            "{brand}",
        ),
        "es": Text(
            "Restablezca su contraseña",
            "Hola, {name}:\n\n"
            "Se ha solicitado restablecer la contraseña de su cuenta de {brand}. Para elegir "
            "una contraseña nueva, abra este enlace:\n\n"
            "{link}\n\n"
            "El enlace puede usarse una sola vez durante {hours} horas. Si no lo ha solicitado "
            "usted, ignore este mensaje: su contraseña no cambiará.\n\n"
            "{brand}",
        ),
        "ar": Text(
            "أعد تعيين كلمة المرور",
            "مرحبًا {name}،\n\n"
            "طلب أحدهم إعادة تعيين كلمة المرور لحسابك لدى {brand}. لاختيار كلمة مرور جديدة، "
            "افتح هذا الرابط:\n\n"
            "{link}\n\n"
            "يعمل الرابط مرة واحدة فقط خلال {hours} ساعة. إذا لم تطلب ذلك، فتجاهل هذه الرسالة: "
            "ستبقى كلمة المرور كما هي.\n\n"
            "{brand}",
        ),
    },
    "password_changed": {
        "en": Text(
            "Your password was changed",
            "Hello {name},\n\n"
            "The password of your {brand} account was changed, and every device that was "
            "signed in has been signed out.\n\n"
            "If you did not make this change, reset your password and contact our support "
            "team at once.\n\n"
            "{brand}",
        ),
        "es": Text(
            "Se ha cambiado su contraseña",
            "Hola, {name}:\n\n"
            "Se ha cambiado la contraseña de su cuenta de {brand} y se ha cerrado la sesión en "
            "todos los dispositivos en los que estaba iniciada.\n\n"
            "Si no ha hecho usted este cambio, restablezca su contraseña y póngase en contacto "
            "de inmediato con nuestro equipo de atención al cliente.\n\n"
            "{brand}",
        ),
        "ar": Text(
            "تم تغيير كلمة المرور",
            "مرحبًا {name}،\n\n"
            "تم تغيير كلمة المرور لحسابك لدى {brand}، وتم تسجيل الخروج من جميع الأجهزة التي "
            "كانت مسجّلة الدخول.\n\n"
            "إذا لم تقم بهذا التغيير، فأعد تعيين كلمة المرور وتواصل مع فريق الدعم لدينا فورًا.\n\n"
            "{brand}",
        ),
    },
}


def language_of(profile_language: str) -> str:
    return profile_language if profile_language in LANGUAGES else "en"


def brand_link(brand_domain: str, path: str, **params: str) -> str:
    """A link to the brand's own site, where its front end reads the parameters."""
    return f"https://{brand_domain}{path}?{urlencode(params)}"


def mail_after_commit(
    *, kind: str, language: str, to: str, from_email: str = "", **context: object
) -> None:
    """Send one account e-mail once the current transaction commits (at once outside one)."""
    language = language_of(language)
    text = TEXTS[kind][language]
    subject = text.subject
    body = text.body.format(**context)
    message = EmailMessage(
        subject=subject,
        body=body,
        from_email=from_email or settings.DEFAULT_FROM_EMAIL,
        to=[to],
        headers={"Content-Language": language, "X-Brokercrm-Mail": kind},
    )

    def send() -> None:
        try:
            message.send()
        except Exception:  # the change is committed; a mail server down must not undo it
            logger.exception("Could not send the %s e-mail", kind)

    transaction.on_commit(send)
