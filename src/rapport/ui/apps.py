from django.apps import AppConfig


class UiConfig(AppConfig):
    name = "rapport.ui"
    label = "ui"
