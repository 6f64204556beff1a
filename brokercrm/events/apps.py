from django.apps import AppConfig


class EventsConfig(AppConfig):
    name = "brokercrm.events"
    label = "events"
    verbose_name = "Domain events"
