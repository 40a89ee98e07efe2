"""The Celery app: wiring only. Tasks live in each app's ``tasks.py`` and call its services.

Production points ``CELERY_BROKER_URL`` at Redis or RabbitMQ and runs ``celery -A rapport.config
worker`` and one ``celery -A rapport.config beat``. The embedded default uses kombu's filesystem
transport in ``./var/broker``, so ``make run`` needs no server (``rapport serve`` starts the
worker and the scheduler beside the web server).
"""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "rapport.config.settings")

app = Celery("rapport")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
