from django.apps import AppConfig


class KycConfig(AppConfig):
    name = "kyc"
    verbose_name = "KYC and AML"

    def ready(self) -> None:
        from brokercrm.backoffice.registry import contributions_register

        contributions_register(self.name)
        from brokercrm.events.registry import subscribe
        from identity.events import REGISTRATION_ACCEPTED

        from . import notifications
        from .services.client import kyc_file_on_registration

        notifications.connect()
        subscribe(
            REGISTRATION_ACCEPTED,
            kyc_file_on_registration,
            name="kyc.file_on_registration",
            in_transaction=True,
        )
