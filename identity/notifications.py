"""Who a client is, for the notifications the kernel sends (`brokercrm.notifications`)."""

from __future__ import annotations

from brokercrm import notifications

from .models import ClientProfile


def recipient_of(profile_id: int) -> notifications.Recipient | None:
    profile = ClientProfile.objects.unscoped().select_related("brand").filter(pk=profile_id).first()
    if profile is None:
        return None
    return notifications.Recipient(
        profile_id=profile.pk,
        entity_id=profile.entity_id,
        email=profile.email,
        language=profile.language,
        name=profile.given_name,
        email_verified=profile.email_verified,
        brand_name=profile.brand.name,
        from_email=profile.brand.support_email,
    )


def connect() -> None:
    notifications.recipient_register(recipient_of)
