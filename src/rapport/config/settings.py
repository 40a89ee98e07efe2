"""Rapport settings: everything comes from the environment (12-factor).

The embedded default (no variables set) is a single-machine install on SQLite in ``./var``.
Production sets ``RAPPORT_ENV=production`` (see ``production.py`` and docs/deployment.md).
"""

from pathlib import Path

import environ
from celery.schedules import crontab

BASE_DIR = Path(__file__).resolve().parent.parent  # src/rapport
PROJECT_DIR = BASE_DIR.parent.parent

env = environ.Env()
DATA_DIR = Path(env.str("RAPPORT_DATA_DIR", default=str(PROJECT_DIR / "var")))

DEBUG = env.bool("RAPPORT_DEBUG", default=False)
# The embedded default needs no configuration; production.py refuses to start without a key.
SECRET_KEY = env.str(
    "RAPPORT_SECRET_KEY", default="rapport-insecure-embedded-default-key-change-me"
)
ALLOWED_HOSTS = env.list("RAPPORT_ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("RAPPORT_CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "axes",
    "ninja",  # serves its bundled Swagger UI (no CDN, no inline script) for /api/v1/docs
    "rapport.core",
    "rapport.tenancy",
    "rapport.users",
    "rapport.audit",
    "rapport.contacts",
    "rapport.customization",
    "rapport.search",
    "rapport.imports",
    "rapport.activities",
    "rapport.notifications",
    "rapport.attachments",
    "rapport.sales",
    "rapport.ui",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "rapport.core.middleware.RequestIdMiddleware",
    "rapport.core.middleware.ApiBodyLimitMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "rapport.tenancy.middleware.WorkspaceMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "rapport.config.urls"
WSGI_APPLICATION = "rapport.config.wsgi.application"
ASGI_APPLICATION = "rapport.config.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.csrf",
                "rapport.ui.context_processors.workspace",
            ],
        },
    },
]

# --- database -----------------------------------------------------------------------------
DATABASES = {
    "default": env.db_url("DATABASE_URL", default=f"sqlite:///{DATA_DIR / 'rapport.sqlite3'}")
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    # WAL lets readers run beside the writer; IMMEDIATE avoids "database is locked" upgrades.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "init_command": (
                "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;"
                " PRAGMA busy_timeout=5000; PRAGMA cache_size=-8192; PRAGMA temp_store=MEMORY;"
            ),
            "transaction_mode": "IMMEDIATE",
        }
    )
# Keep connections between requests: opening one (and, on SQLite, running the PRAGMAs)
# costs more than a whole indexed read.
DATABASES["default"]["CONN_MAX_AGE"] = env.int("RAPPORT_DB_CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- cache (rate limits, login throttling) -------------------------------------------------
CACHES = {"default": env.cache_url("RAPPORT_CACHE_URL", default="locmemcache://rapport")}

# --- auth ---------------------------------------------------------------------------------
AUTH_USER_MODEL = "users.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "users:login"
LOGIN_REDIRECT_URL = "ui:home"
LOGOUT_REDIRECT_URL = "users:login"

# Failed logins: lock the (user, IP) pair after 5 failures for 15 minutes.
AXES_FAILURE_LIMIT = env.int("RAPPORT_LOGIN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = 0.25  # hours
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_HANDLER = "axes.handlers.database.AxesDatabaseHandler"
AXES_USERNAME_FORM_FIELD = "username"
AXES_USERNAME_CALLABLE = "rapport.users.axes.lockout_username"

# --- email ----------------------------------------------------------------------------------
EMAIL_BACKEND = env.str(
    "RAPPORT_EMAIL_BACKEND",
    default=(
        "django.core.mail.backends.smtp.EmailBackend"
        if env.str("RAPPORT_SMTP_HOST", default="")
        else "django.core.mail.backends.console.EmailBackend"
    ),
)
EMAIL_HOST = env.str("RAPPORT_SMTP_HOST", default="localhost")
EMAIL_PORT = env.int("RAPPORT_SMTP_PORT", default=587)
EMAIL_HOST_USER = env.str("RAPPORT_SMTP_USER", default="")
EMAIL_HOST_PASSWORD = env.str("RAPPORT_SMTP_PASSWORD", default="")
EMAIL_USE_TLS = env.bool("RAPPORT_SMTP_TLS", default=True)
DEFAULT_FROM_EMAIL = env.str("RAPPORT_FROM_EMAIL", default="Rapport <noreply@localhost>")
# Where Rapport is reached from outside: links in mails (notifications) are made absolute with it.
SITE_URL = env.str("RAPPORT_SITE_URL", default="http://127.0.0.1:8000").rstrip("/")

# --- i18n -----------------------------------------------------------------------------------
LANGUAGE_CODE = "en"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- static files -----------------------------------------------------------------------------
STATIC_URL = "/static/"
# The embedded default serves assets straight from the apps (WHITENOISE_USE_FINDERS);
# production collects them into STATIC_ROOT (production.py).
STATIC_ROOT = None
STATICFILES_DIRS: list = []
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
MEDIA_ROOT = env.str("RAPPORT_MEDIA_ROOT", default=str(DATA_DIR / "media"))
# Uploaded files (imports, attachments) are never served by URL: only by authorised views.
MEDIA_URL = "/media-not-served/"
IMPORT_MAX_BYTES = env.int("RAPPORT_IMPORT_MAX_BYTES", default=5 * 1024**3)
# The largest file that can be attached to a record or an interaction.
RAPPORT_ATTACHMENT_MAX_BYTES = env.int("RAPPORT_ATTACHMENT_MAX_BYTES", default=25 * 1024**2)
# Rows written per transaction (and per checkpoint) by an import.
IMPORT_CHUNK_ROWS = env.int("RAPPORT_IMPORT_CHUNK_ROWS", default=500)
# Exports with more rows than this run in the background and leave a download link.
EXPORT_INLINE_ROWS = env.int("RAPPORT_EXPORT_INLINE_ROWS", default=5000)
WHITENOISE_USE_FINDERS = True  # the embedded default serves assets without collectstatic

# --- security -------------------------------------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# Cookies are marked Secure and HSTS is sent whenever Rapport is served over HTTPS; the
# embedded default on http://127.0.0.1 cannot use Secure cookies, production.py forces them.
SESSION_COOKIE_SECURE = env.bool("RAPPORT_SECURE_COOKIES", default=False)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_HSTS_SECONDS = env.int("RAPPORT_HSTS_SECONDS", default=31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = False

from csp.constants import NONE, SELF  # noqa: E402

CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "frame-ancestors": [NONE],
        "form-action": [SELF],
        "base-uri": [SELF],
        "object-src": [NONE],
    }
}

# --- API --------------------------------------------------------------------------------------
API_MAX_BODY_BYTES = 1024 * 1024
API_RATE_LIMIT = env.str("RAPPORT_API_RATE_LIMIT", default="1200/m")
NINJA_PAGINATION_MAX_LIMIT = 500
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024

# --- background work (Celery) -----------------------------------------------------------------
# The embedded default needs no broker server: kombu's filesystem transport keeps the queue in
# ./var/broker. Production sets RAPPORT_CELERY_BROKER_URL to redis:// or amqp://.
CELERY_BROKER_URL = env.str("RAPPORT_CELERY_BROKER_URL", default="filesystem://")
EMBEDDED_BROKER = CELERY_BROKER_URL.startswith("filesystem://")
if EMBEDDED_BROKER:
    _queue_dir = DATA_DIR / "broker"
    for _sub in ("queue", "processed"):
        (_queue_dir / _sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_queue_dir / "queue"),
        "data_folder_out": str(_queue_dir / "queue"),
        "processed_folder": str(_queue_dir / "processed"),
        "store_processed": False,
    }
else:
    # A message whose worker died unacknowledged comes back after this many seconds.
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "visibility_timeout": env.int("RAPPORT_CELERY_VISIBILITY_TIMEOUT", default=3600)
    }
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Progress and results live in Rapport's own job rows, not in a result backend.
CELERY_TASK_IGNORE_RESULT = True
# Acknowledge after the work, and requeue when a worker process dies: jobs are resumable
# (they checkpoint in the database), so running one again never repeats finished work.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_ALWAYS_EAGER = env.bool("RAPPORT_CELERY_EAGER", default=False)
# One broker can serve several Rapport installs (or test runs) when each has its own queue.
CELERY_TASK_DEFAULT_QUEUE = env.str("RAPPORT_CELERY_QUEUE", default="celery")
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_BEAT_SCHEDULE_FILENAME = str(DATA_DIR / "celerybeat-schedule")
# Scheduled work (beat). Each entry names a task in an app's tasks.py.
CELERY_BEAT_SCHEDULE: dict = {
    # Background jobs whose worker died (no heartbeat) are queued again and resume.
    "resume-stalled-jobs": {"task": "rapport.core.tasks.resume_stalled_jobs", "schedule": 60.0},
    # Deleted people, companies, deals and leads older than their workspace's trash retention
    # go for good.
    "purge-trash": {
        "task": "rapport.contacts.tasks.purge_trash",
        "schedule": crontab(hour=3, minute=17),
    },
    # Daily notification digests: each member's goes out once their hour has come locally.
    "send-notification-digests": {
        "task": "rapport.notifications.tasks.send_digests",
        "schedule": crontab(minute="*/15"),
    },
    # Lead scores decay with inactivity: every lead is scored again once a day.
    "rescore-leads": {
        "task": "rapport.sales.lead_tasks.rescore_leads",
        "schedule": crontab(hour=3, minute=40),
    },
    # Task reminders whose time has come: each sent at most once (claimed in the database).
    "send-task-reminders": {
        "task": "rapport.activities.tasks.send_due_reminders",
        "schedule": 60.0,
    },
}
# A running job that has not reported progress for this long is considered abandoned.
JOB_STALL_SECONDS = env.int("RAPPORT_JOB_STALL_SECONDS", default=120)
CELERY_TIMEZONE = "UTC"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("RAPPORT_LOG_LEVEL", default="WARNING")},
}

if env.str("RAPPORT_ENV", default="") == "production":
    from .production import *  # noqa: F403
