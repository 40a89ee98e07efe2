from django.apps import AppConfig


class ImportsConfig(AppConfig):
    name = "rapport.imports"
    label = "imports"
    verbose_name = "Imports and exports"

    def ready(self) -> None:
        from . import events  # noqa: F401 (registers the event types)
