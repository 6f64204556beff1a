from django.apps import AppConfig


class BrokercrmConfig(AppConfig):
    name = "brokercrm"
    verbose_name = "brokercrm core"
