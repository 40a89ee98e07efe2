from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "rapport.notifications"
    label = "notifications"

    def ready(self) -> None:
        # Registered at start-up so the audit log's filter and ``notify`` know them.
        from rapport.core import targets

        from . import events, kinds  # noqa: F401
        from .services import forget_purged

        targets.on_purge(forget_purged)
