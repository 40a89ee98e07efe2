from django.apps import AppConfig


class UsersConfig(AppConfig):
    name = "rapport.users"
    label = "users"
