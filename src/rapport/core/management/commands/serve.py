import os
import shutil
import signal
import subprocess
import sys
import time

from django.conf import settings
from django.core.management.base import BaseCommand


def _bin(name: str) -> str:
    return shutil.which(name, path=os.path.dirname(sys.executable)) or name


class Command(BaseCommand):
    help = (
        "Serve Rapport with gunicorn (the production WSGI server; see docs/deployment.md). "
        "With the embedded broker it also runs a Celery worker and the scheduler beside it."
    )

    def add_arguments(self, parser):
        parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
        parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
        parser.add_argument(
            "--workers", type=int, default=int(os.environ.get("RAPPORT_WEB_WORKERS", "2"))
        )
        parser.add_argument(
            "--threads", type=int, default=int(os.environ.get("RAPPORT_WEB_THREADS", "4"))
        )
        parser.add_argument(
            "--no-worker",
            action="store_true",
            help="Do not start the background worker and scheduler (they run elsewhere).",
        )

    def handle(self, *args, host, port, workers, threads, no_worker, **opts):
        web = [
            _bin("gunicorn"),
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
        if no_worker or not settings.EMBEDDED_BROKER:
            os.execv(web[0], web)  # noqa: S606 (fixed argv, no shell)
        celery = [_bin("celery"), "-A", "rapport.config"]
        commands = [
            web,
            # One worker process with two threads: enough for a single machine, small in memory.
            [*celery, "worker", "--pool", "threads", "--concurrency", "2", "--loglevel", "INFO"],
            [*celery, "beat", "--loglevel", "INFO"],
        ]
        self._supervise(commands)

    def _supervise(self, commands: list[list[str]]) -> None:
        """Runs the processes together; when one stops or we are told to stop, stops them all."""
        children = [subprocess.Popen(argv) for argv in commands]

        def stop(*_):
            for child in children:
                if child.poll() is None:
                    child.terminate()

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        try:
            while all(child.poll() is None for child in children):
                time.sleep(0.5)
        finally:
            stop()
            deadline = time.monotonic() + 10
            for child in children:
                try:
                    child.wait(max(0.1, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    child.kill()
        sys.exit(max((child.returncode or 0) for child in children))
