"""What payments announces. Higher apps subscribe in their `AppConfig.ready()`."""

from brokercrm.events.registry import EventType

DEPOSIT_CREDITED = EventType(
    "payments.deposit_credited",
    "A deposit was credited to the client's wallet and is theirs to use (a parked deposit: "
    "when it is released). Payload: deposit_id, amount, currency, wallet_currency, "
    "credited_amount (decimal strings).",
)

WITHDRAWAL_PAID = EventType(
    "payments.withdrawal_paid",
    "A withdrawal was paid out in full. Payload: withdrawal_id, amount, currency (taken from "
    "the wallet), payout_amount, payout_currency (what the client receives in the payout "
    "currency), paid (currency → amount: card refunds go back in the card's currency).",
)

WITHDRAWAL_REJECTED = EventType(
    "payments.withdrawal_rejected",
    "A withdrawal was rejected and its hold voided (the money is back in the wallet). "
    "Payload: withdrawal_id, amount, currency, reason_code, reason.",
)
