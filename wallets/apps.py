from django.apps import AppConfig


class WalletsConfig(AppConfig):
    name = "wallets"
    verbose_name = "Wallets and ledger"

    def ready(self) -> None:
        from brokercrm.backoffice.registry import contributions_register

        contributions_register(self.name)
        from . import subscribers

        subscribers.connect()
