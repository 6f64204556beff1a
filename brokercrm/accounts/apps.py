from django.apps import AppConfig, apps
from django.db.models.signals import post_migrate


def _sync_after_last_app(sender: AppConfig, **kwargs: object) -> None:
    # Permissions of every app exist only once the last app's post_migrate has run.
    if sender.name != list(apps.get_app_configs())[-1].name:
        return
    from .services import grants_resync, permissions_sync, roles_sync

    permissions_sync()
    roles_sync()
    # Existing grants follow their roles: a permission a release adds reaches the staff who
    # hold the role, not only those granted after the upgrade.
    grants_resync()


class AccountsConfig(AppConfig):
    name = "brokercrm.accounts"
    label = "accounts"
    verbose_name = "Staff access"

    def ready(self) -> None:
        post_migrate.connect(_sync_after_last_app, dispatch_uid="accounts_sync_roles")
