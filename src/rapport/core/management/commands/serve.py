import os
import shutil
import sys

from django.conf import settings
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Serve Rapport with gunicorn (the production WSGI server; see docs/deployment.md)."

    def add_arguments(self, parser):
        parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
        parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
        parser.add_argument(
            "--workers", type=int, default=int(os.environ.get("RAPPORT_WEB_WORKERS", "2"))
        )
        parser.add_argument(
            "--threads", type=int, default=int(os.environ.get("RAPPORT_WEB_THREADS", "4"))
        )

    def handle(self, *args, host, port, workers, threads, **opts):
        gunicorn = shutil.which("gunicorn", path=os.path.dirname(sys.executable)) or "gunicorn"
        argv = [
            gunicorn,
            "rapport.config.wsgi:application",
            "--bind",
            f"{host}:{port}",
            "--workers",
            str(workers),
            "--threads",
            str(threads),
            "--access-logfile",
            "-",
            "--forwarded-allow-ips",
            os.environ.get("RAPPORT_FORWARDED_ALLOW_IPS", "127.0.0.1"),
        ]
        engine = settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1]
        self.stdout.write(f"Rapport is serving at http://{host}:{port}/ ({engine})")
        sys.stdout.flush()
        os.execv(argv[0], argv)  # noqa: S606 (fixed argv, no shell)
