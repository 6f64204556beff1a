from __future__ import annotations

from typing import Any

from rest_framework import serializers


class AmountField(serializers.RegexField):
    """A money amount sent as a JSON string ("10.50"): a JSON number arrives as a float and
    may already have lost the cents it claims to carry."""

    default_error_messages = {
        "not_a_string": 'Send amounts as strings, e.g. "10.50".',
        "invalid": "Use a positive decimal with at most 16 digits before and 8 after the point.",
    }

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(r"^\d{1,16}(\.\d{1,8})?$", max_length=25, **kwargs)

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("not_a_string")
        return super().to_internal_value(data)
