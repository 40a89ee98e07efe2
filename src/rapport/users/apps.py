from django.apps import AppConfig


class UsersConfig(AppConfig):
    name = "rapport.users"
    label = "users"

    def ready(self) -> None:
        from . import signals

        signals.connect()
