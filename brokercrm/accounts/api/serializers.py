from __future__ import annotations

from rest_framework import serializers


class ClientTokenRequestSerializer(serializers.Serializer):
    email = serializers.CharField(max_length=254, required=False)
    # Long enough for any passphrase, short enough that hashing it stays cheap.
    password = serializers.CharField(max_length=256, trim_whitespace=False, required=False)
    # The second step when the client's second factor is on: the `challenge` the password
    # step answered (401 second_factor_required) and the app's current code.
    challenge = serializers.CharField(max_length=400, required=False)
    otp = serializers.CharField(max_length=10, required=False)
    entity = serializers.CharField(
        max_length=16,
        required=False,
        help_text="The entity code the registration answered with, for a client the brand's"
        " country routes onboarded in another entity; the brand's own entity if left out.",
    )

    def validate(self, attrs: dict) -> dict:
        if "challenge" in attrs or "otp" in attrs:
            if not attrs.get("challenge") or not attrs.get("otp"):
                raise serializers.ValidationError("Give both challenge and otp.")
        elif not attrs.get("email") or not attrs.get("password"):
            raise serializers.ValidationError("Give email and password.")
        return attrs


class ClientTokenSerializer(serializers.Serializer):
    token = serializers.CharField(help_text="Send as `Authorization: Token <token>`.")
    profile_id = serializers.IntegerField()


class ClientLoginCreateSerializer(serializers.Serializer):
    password = serializers.CharField(
        max_length=256,
        trim_whitespace=False,
        help_text="The client's first password; Django's password validators apply.",
    )


class ClientLoginSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()
    email = serializers.CharField(
        help_text="The profile's e-mail address: the client logs in with it."
    )
    profile_id = serializers.IntegerField()
