"""What KYC tells the client (`brokercrm.notifications`): a document asked for, the decision."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext, gettext_lazy, gettext_noop

from brokercrm import notifications

from . import events

DOCUMENT_NAMES = {
    "identity": gettext_lazy("an identity document"),
    "proof_of_address": gettext_lazy("a proof of address"),
    "source_of_funds": gettext_lazy("a proof of the source of your funds"),
    "selfie": gettext_lazy("a selfie (liveness check)"),
}
SIDE_NAMES = {
    "front": gettext_lazy("the front of your identity document"),
    "back": gettext_lazy("the back of your identity document"),
}


def document_requested(event: Any) -> dict[str, Any]:
    payload = event.payload
    reason = str(payload.get("reason") or "").strip()
    return {
        "document": SIDE_NAMES.get(payload.get("side"))
        or DOCUMENT_NAMES.get(payload.get("kind"), gettext("a document")),
        "note": (" " + gettext("The reviewer's note: %(reason)s") % {"reason": reason})
        if reason
        else "",
    }


def connect() -> None:
    notifications.register(
        events.DOCUMENT_REQUESTED,
        kind="document_requested",
        title=gettext_noop("We need a document from you"),
        body=gettext_noop(
            "To complete your verification, please upload %(document)s in your account.%(note)s"
        ),
        build=document_requested,
    )
    notifications.register(
        events.KYC_APPROVED,
        kind="kyc_approved",
        title=gettext_noop("Your account is verified"),
        body=gettext_noop(
            "Good news: we have verified your identity. You can now fund your account and "
            "start trading."
        ),
    )
    notifications.register(
        events.KYC_REJECTED,
        kind="kyc_rejected",
        title=gettext_noop("We could not verify your account"),
        body=gettext_noop(
            "After reviewing your application we are unable to open your account. "
            "If you have questions, please contact our support team."
        ),
    )
