from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps


class BackOfficeAdminConfig(admin_apps.AdminConfig):
    """The admin, served by the back office's own site (unfold's themed site with the work
    queue, the client 360 and the dashboards added)."""

    default_site = "brokercrm.backoffice.site.BackOfficeSite"
    default = False


class BackOfficeConfig(AppConfig):
    name = "brokercrm.backoffice"
    label = "backoffice"
    verbose_name = "Back office"
    default = True

    def ready(self) -> None:
        from . import timeline

        timeline.register()
