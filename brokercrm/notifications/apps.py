from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "brokercrm.notifications"
    label = "notifications"
    verbose_name = "Client notifications"
