"""IP addresses (with the subnet a household or office shares) and device fingerprints."""

from __future__ import annotations

import ipaddress
import re

from .errors import _MAX_RAW_LENGTH, NormalizationError, _require_text

_MAX_IP_LENGTH = 64


def normalize_ip(raw: str) -> tuple[str, str]:
    """(address, subnet): IPv4 /24 and IPv6 /64, the blocks one household or office shares."""
    text = _require_text(raw, "ip_invalid", "IP address", _MAX_IP_LENGTH).strip()
    # A zone index ("fe80::1%eth0") names a local interface, never a client's public address.
    if "%" in text:
        raise NormalizationError("ip_invalid", "The IP address has a zone index.")
    try:
        address = ipaddress.ip_address(text)
    except ValueError as exc:
        raise NormalizationError("ip_invalid", "This is not an IP address.") from exc
    # Dual-stack proxies report IPv4 clients as ::ffff:a.b.c.d; it is the same client.
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    prefix = 24 if address.version == 4 else 64
    subnet = ipaddress.ip_network(f"{address}/{prefix}", strict=False)
    return str(address), str(subnet)


_DEVICE_FINGERPRINT = re.compile(r"[a-z0-9_\-:.]{8,128}", re.ASCII)


def normalize_device(raw: str) -> str:
    """A front end's device fingerprint, lower-cased; 8 to 128 of [a-z0-9_-:.]."""
    text = _require_text(raw, "device_invalid", "device fingerprint", _MAX_RAW_LENGTH)
    text = text.strip().lower()
    if not _DEVICE_FINGERPRINT.fullmatch(text):
        raise NormalizationError(
            "device_invalid",
            "The device fingerprint must be 8 to 128 letters, digits or _-:. characters.",
        )
    return text
