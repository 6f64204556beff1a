"""Webhook signatures: genuine, tampered, stale, replayed, malformed."""

from __future__ import annotations

import pytest

from brokercrm.signing import WebhookSignatureError, webhook_sign, webhook_verify

SECRET = "whsec-test"
BODY = b'{"id":"tx_1","amount":"10.00"}'


def test_a_genuine_signature_verifies_and_returns_its_timestamp() -> None:
    header = webhook_sign(secret=SECRET, body=BODY, timestamp=1_700_000_000)
    assert (
        webhook_verify(secret=SECRET, header=header, body=BODY, now=1_700_000_100) == 1_700_000_000
    )


@pytest.mark.parametrize(
    ("header_of", "body", "now", "code"),
    [
        (lambda h: h, BODY.replace(b"10.00", b"99.00"), 1_700_000_000, "signature_invalid"),
        (lambda h: h, BODY, 1_700_000_301, "signature_stale"),
        (lambda h: h, BODY, 1_699_999_699, "signature_stale"),
        (lambda h: None, BODY, 1_700_000_000, "signature_missing"),
        (lambda h: "", BODY, 1_700_000_000, "signature_missing"),
        (lambda h: "garbage", BODY, 1_700_000_000, "signature_malformed"),
        (lambda h: "t=abc,v1=00", BODY, 1_700_000_000, "signature_malformed"),
        (lambda h: "t=1700000000", BODY, 1_700_000_000, "signature_malformed"),
        # The old body re-signed under a new timestamp without the secret cannot match.
        (
            lambda h: h.replace("t=1700000000", "t=1700000200"),
            BODY,
            1_700_000_200,
            "signature_invalid",
        ),
    ],
)
def test_bad_signatures_are_refused_with_a_stable_code(header_of, body, now, code) -> None:
    header = webhook_sign(secret=SECRET, body=BODY, timestamp=1_700_000_000)
    with pytest.raises(WebhookSignatureError) as caught:
        webhook_verify(secret=SECRET, header=header_of(header), body=body, now=now)
    assert caught.value.code == code


def test_another_secret_does_not_verify() -> None:
    header = webhook_sign(secret="other", body=BODY, timestamp=1_700_000_000)
    with pytest.raises(WebhookSignatureError):
        webhook_verify(secret=SECRET, header=header, body=BODY, now=1_700_000_000)
