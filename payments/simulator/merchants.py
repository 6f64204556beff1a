"""A merchant account's configuration: what it accepts and how badly its webhooks behave.

Configs arrive from a JSON file or `PUT /admin/merchants/{id}`; both go through
`MerchantConfig.from_dict`, which refuses unknown fields so that a misspelt knob (say
"aproval_rate") fails loudly instead of silently leaving the default in place.
"""

from __future__ import annotations

import re
from dataclasses import MISSING, asdict, dataclass, field
from typing import Any

from brokercrm.reference import CURRENCY_MINOR_UNITS
from brokercrm.simulators import HttpError

from .instruments import DECLINE_CODES, TIMEOUT

_MERCHANT_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
_METHOD = re.compile(r"^[a-z0-9_]{1,32}$")

# Used for the declines that chance (approval_rate) decides: mostly soft, as with real issuers.
DEFAULT_DECLINE_WEIGHTS: dict[str, float] = {
    "insufficient_funds": 50.0,
    "do_not_honour": 30.0,
    "issuer_unavailable": 15.0,
    "stolen_card": 2.0,
    "invalid_account": 2.0,
    "closed_account": 1.0,
}


def _config_error(name: str, detail: str) -> HttpError:
    return HttpError(422, "invalid_config", f"{name}: {detail}")


@dataclass(frozen=True)
class MerchantConfig:
    id: str
    webhook_url: str | None
    webhook_secret: str
    currencies: tuple[str, ...]
    methods: tuple[str, ...]
    approval_rate: float = 1.0
    decline_weights: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_DECLINE_WEIGHTS))
    # Probability that a transaction without a forced outcome is applied but not answered.
    timeout_rate: float = 0.0
    latency_ms: int = 0
    fee_bps: int = 0
    duplicate_rate: float = 0.0
    out_of_order_rate: float = 0.0
    # An out-of-order event is held back by a random 50-100 % of this.
    out_of_order_delay_s: float = 1.0
    late_rate: float = 0.0
    # Each delivery is signed as it leaves, so even a late one arrives with a fresh signature.
    late_delay_s: float = 5.0
    # Bank and local-method payouts answer "pending" and settle (webhook) this much later.
    payout_settle_s: float = 0.5
    # A hosted payment page not paid within this time expires: the payer can no longer pay.
    checkout_ttl_s: float = 3600.0

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["currencies"] = list(self.currencies)
        data["methods"] = list(self.methods)
        return data

    @classmethod
    def from_dict(cls, merchant_id: str, data: Any) -> MerchantConfig:
        if not _MERCHANT_ID.match(merchant_id):
            raise _config_error("id", "use 1-64 letters, digits, '.', '_' or '-'.")
        if not isinstance(data, dict):
            raise HttpError(422, "invalid_config", "The merchant config must be a JSON object.")
        known = {name for name in cls.__dataclass_fields__ if name != "id"}
        unknown = sorted(set(data) - known - {"id"})
        if unknown:
            raise _config_error(unknown[0], "unknown field.")
        if data.get("id", merchant_id) != merchant_id:
            raise _config_error("id", "does not match the id in the path.")
        for name in ("webhook_url", "webhook_secret", "currencies", "methods"):
            if name not in data:
                raise _config_error(name, "is required.")
        return cls(
            id=merchant_id,
            webhook_url=_webhook_url(data["webhook_url"]),
            webhook_secret=_secret(data["webhook_secret"]),
            currencies=_currencies(data["currencies"]),
            methods=_methods(data["methods"]),
            approval_rate=_rate(data, "approval_rate"),
            decline_weights=_weights(data.get("decline_weights", _default("decline_weights"))),
            timeout_rate=_rate(data, "timeout_rate"),
            latency_ms=_whole(data, "latency_ms", upper=120_000),
            fee_bps=_whole(data, "fee_bps", upper=10_000),
            duplicate_rate=_rate(data, "duplicate_rate"),
            out_of_order_rate=_rate(data, "out_of_order_rate"),
            out_of_order_delay_s=_seconds(data, "out_of_order_delay_s"),
            late_rate=_rate(data, "late_rate"),
            late_delay_s=_seconds(data, "late_delay_s"),
            payout_settle_s=_seconds(data, "payout_settle_s"),
            checkout_ttl_s=_seconds(data, "checkout_ttl_s"),
        )


def _default(name: str) -> Any:
    spec = MerchantConfig.__dataclass_fields__[name]
    return spec.default_factory() if spec.default_factory is not MISSING else spec.default


def _is_number(value: Any) -> bool:
    # bool is an int in Python; `true` for a rate is a mistake, not 1.0.
    return isinstance(value, int | float) and not isinstance(value, bool)


def _rate(data: dict[str, Any], name: str) -> float:
    value = data.get(name, _default(name))
    if not _is_number(value) or not 0 <= value <= 1:
        raise _config_error(name, "must be a number from 0 to 1.")
    return float(value)


def _seconds(data: dict[str, Any], name: str) -> float:
    value = data.get(name, _default(name))
    if not _is_number(value) or not 0 <= value <= 3600:
        raise _config_error(name, "must be a number of seconds from 0 to 3600.")
    return float(value)


def _whole(data: dict[str, Any], name: str, *, upper: int) -> int:
    value = data.get(name, _default(name))
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= upper:
        raise _config_error(name, f"must be a whole number from 0 to {upper}.")
    return value


def _webhook_url(value: Any) -> str | None:
    if value is None:
        return None  # a merchant without webhooks: events are counted as dropped
    if not isinstance(value, str) or not value.startswith(("http://", "https://")):
        raise _config_error("webhook_url", "must be an http(s) URL or null.")
    return value


def _secret(value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise _config_error("webhook_secret", "must be a non-empty string.")
    return value


def _currencies(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not value:
        raise _config_error("currencies", "must be a non-empty list of ISO 4217 codes.")
    for code in value:
        if code not in CURRENCY_MINOR_UNITS:
            raise _config_error("currencies", f"{code!r} is not a known ISO 4217 code.")
    return tuple(dict.fromkeys(value))


def _methods(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not value:
        raise _config_error("methods", "must be a non-empty list of method codes.")
    for method in value:
        if not isinstance(method, str) or not _METHOD.match(method):
            raise _config_error("methods", f"{method!r} is not a method code ([a-z0-9_]).")
    return tuple(dict.fromkeys(value))


def _weights(value: Any) -> dict[str, float]:
    if not isinstance(value, dict) or not value:
        raise _config_error("decline_weights", "must be an object of decline code to weight.")
    for code, weight in value.items():
        if code == TIMEOUT:
            # A timeout is not an answer the simulator gives, it is a missing one.
            raise _config_error("decline_weights", "use timeout_rate for timeouts.")
        if code not in DECLINE_CODES:
            raise _config_error("decline_weights", f"{code!r} is not a decline code.")
        if not _is_number(weight) or weight < 0:
            raise _config_error("decline_weights", f"the weight of {code} must be >= 0.")
    if not any(value.values()):
        raise _config_error("decline_weights", "at least one weight must be above 0.")
    # Sorted so that the same weights always map a random draw to the same code.
    return {code: float(value[code]) for code in sorted(value)}
