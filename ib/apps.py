from django.apps import AppConfig


class IbConfig(AppConfig):
    name = "ib"
    verbose_name = "Introducing brokers"
