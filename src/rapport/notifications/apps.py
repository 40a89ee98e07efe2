from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "rapport.notifications"
    label = "notifications"

    def ready(self) -> None:
        # Registered at start-up so the audit log's filter and ``notify`` know them.
        from . import events, kinds  # noqa: F401
