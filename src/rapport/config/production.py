"""Production hardening, applied when RAPPORT_ENV=production. Fails closed on a missing secret."""

import environ

env = environ.Env()

DEBUG = False
SECRET_KEY = env.str("RAPPORT_SECRET_KEY")  # no default: refuse to start without it
if len(SECRET_KEY) < 50 or SECRET_KEY.startswith("rapport-insecure"):
    raise environ.ImproperlyConfigured("RAPPORT_SECRET_KEY must be a random string of 50+ chars")
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SECURE_SSL_REDIRECT = env.bool("RAPPORT_SSL_REDIRECT", default=True)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_HSTS_SECONDS = env.int("RAPPORT_HSTS_SECONDS", default=31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = False
STATIC_ROOT = env.path("RAPPORT_STATIC_ROOT", default="/var/lib/rapport/static")
