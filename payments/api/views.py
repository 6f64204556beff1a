from __future__ import annotations

from typing import Any

from rest_framework.request import Request
from rest_framework.response import Response

from brokercrm.api.webhooks import SignedWebhookView

from .. import services


class PspWebhookView(SignedWebhookView):
    """A PSP's notifications for one merchant account: verified with that account's secret,
    recorded once, acted on once (a deposit credited, a payout settled)."""

    source = "psp"

    def secret_for(self, request: Request, **kwargs: Any) -> str:
        self.merchant = services.merchant_for_webhook(kwargs["merchant"])
        return services.merchant_webhook_secret(self.merchant)

    def handle_event(self, event: dict[str, Any], raw: bytes, **kwargs: Any) -> Response:
        signature = request_signature(self.request)
        outcome = services.psp_webhook_process(
            merchant=self.merchant, event=event, signature=signature
        )
        return Response({"status": outcome})


def request_signature(request: Request) -> str:
    from brokercrm.signing import SIGNATURE_HEADER

    return request.headers.get(SIGNATURE_HEADER, "")
