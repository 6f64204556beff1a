from django.apps import AppConfig


class KycConfig(AppConfig):
    name = "kyc"
    verbose_name = "KYC and AML"

    def ready(self) -> None:
        from . import notifications

        notifications.connect()
