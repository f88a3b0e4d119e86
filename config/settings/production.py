"""Production settings: everything secret or site-specific must come from the environment."""

from .base import *  # noqa: F403
from .base import ANYMAIL_BACKEND, env, mailers_from

SECRET_KEY = env("DJANGO_SECRET_KEY")  # no default: refusing to start beats a guessable key
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS")
if not ANYMAIL_BACKEND:  # an anymail provider (base.py) needs no mail server URL
    MAILERS = mailers_from(env.email("EMAIL_URL"))  # no default: a clinic's reminders must not go to a console
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])
# Patients' links must point at the real site: by default the first allowed host, over https.
SITE_URL = (env("SITE_URL", default="") or f"https://{ALLOWED_HOSTS[0]}").rstrip("/")

SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=True)
SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SECURE_REFERRER_POLICY = "same-origin"
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
X_FRAME_OPTIONS = "DENY"
