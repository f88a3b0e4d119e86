"""Settings shared by every environment. Values that differ per site come from the environment."""

from __future__ import annotations

from pathlib import Path

import environ
from django.utils.csp import CSP
from kombu import Queue

BASE_DIR = Path(__file__).resolve().parent.parent.parent

env = environ.Env()

SECRET_KEY = env("DJANGO_SECRET_KEY", default="")
DEBUG = False
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["localhost", "127.0.0.1"])

CLINIC_NAME = env("CLINIC_NAME", default="Pain Clinic")
# The clinic's phone number, as patients dial it: the answer to a texted HELP (apps.sms).
CLINIC_PHONE = env("CLINIC_PHONE", default="")
# Phone numbers typed without a country code are read as numbers of this country.
PHONE_REGION = env("PHONE_REGION", default="US")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django.contrib.postgres",
    "crispy_forms",
    "crispy_bootstrap5",
    "apps.accounts",
    "apps.clinic",
    "apps.patients",
    "apps.blocks",
    "apps.cryoablations",
    "apps.instruments",
    "apps.surveys",
    "apps.adverse_events",
    "apps.medications",
    # Audit and security (issue 5)
    "pgtrigger",
    "pghistory",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "apps.registry",
    "apps.reports",
    "apps.reminders",
    # Two-way SMS (issue 17): patients' replies, keywords, the staff inbox.
    "apps.sms",
    # REST API and FHIR export (issue 6)
    "rest_framework",
    "drf_spectacular",
    "apps.api",
    # After every app whose models it records: their AppConfig.audited_fields name the columns (apps/audit/models.py).
    "apps.audit",
    # Pages made of several apps' data (apps/pages/__init__.py).
    "apps.pages",
    # De-identified research export (issue 18): reads every clinical app, read by none.
    "apps.research",
    # Demo data (seed_demo): writes every app's records, so it comes last (README.md, "Apps in layers").
    "apps.demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "apps.accounts.caching.NoStoreForSignedInMiddleware",  # after WhiteNoise: static files stay cacheable
    # Django's, except that background polling does not renew the session (apps.accounts.sessions)
    "apps.accounts.sessions.PassiveAwareSessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "apps.accounts.sessions.SessionLifetimeMiddleware",
    "apps.accounts.mfa.MFARequiredMiddleware",
    # In a network, a signed-in user's queries see their sites' patients only, in the database too (README: "Sites")
    "apps.clinic.row_security.SiteScopeMiddleware",
    "apps.audit.context.AuditContextMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "config.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.csp",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "apps.accounts.context_processors.roles",
                "apps.clinic.context_processors.clinic",
            ],
        },
    },
]

WSGI_APPLICATION = "config.wsgi.application"

DATABASES = {"default": env.db("DATABASE_URL", default="postgres://postgres@127.0.0.1:5432/painreg")}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DB_CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
# A PostgreSQL streaming replica (README: "Past one server"): the dashboards, drill-downs and report runs read from it
# (apps.clinic.replica.replica_reads); writes, migrations and everything else stay on the primary. Unset: one alias.
DATABASE_REPLICA_URL = env("DATABASE_REPLICA_URL", default="")
if DATABASE_REPLICA_URL:
    DATABASES["replica"] = env.db_url_config(DATABASE_REPLICA_URL)
    DATABASES["replica"]["CONN_MAX_AGE"] = DATABASES["default"]["CONN_MAX_AGE"]
    DATABASES["replica"]["CONN_HEALTH_CHECKS"] = True
# The alias replica_reads() reads from, "" for none.
READ_REPLICA = "replica" if DATABASE_REPLICA_URL else ""
DATABASE_ROUTERS = ["apps.clinic.replica.PrimaryReplicaRouter"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env("REDIS_URL", default="redis://127.0.0.1:6379/0")
# Redis also backs the cache, which rate limits count in: shared by every web process.
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": env("CACHE_KEY_PREFIX", default="painreg"),
    }
}

AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "accounts:login"

PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# A session ends after this many seconds without a request: the idle timeout clinics ask for on shared
# workstations. Every request renews it.
SESSION_COOKIE_AGE = env.int("SESSION_IDLE_SECONDS", default=15 * 60)
SESSION_SAVE_EVERY_REQUEST = True
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = True

LANGUAGE_CODE = "en-us"
TIME_ZONE = env("TIME_ZONE", default="America/New_York")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

CRISPY_ALLOWED_TEMPLATE_PACKS = "bootstrap5"
CRISPY_TEMPLATE_PACK = "bootstrap5"


def mailers_from(email: dict) -> dict:
    """Django's MAILERS from one django-environ email URL, e.g. smtp+tls://user:password@mail.example.org:587."""
    options = {}
    if email["EMAIL_BACKEND"].endswith("smtp.EmailBackend"):
        options = {
            "host": email.get("EMAIL_HOST"),
            "port": email.get("EMAIL_PORT"),
            "username": email.get("EMAIL_HOST_USER"),
            "password": email.get("EMAIL_HOST_PASSWORD"),
            "use_tls": email.get("EMAIL_USE_TLS", False),
            "use_ssl": email.get("EMAIL_USE_SSL", False),
        }
    return {"default": {"BACKEND": email["EMAIL_BACKEND"], "OPTIONS": options}}


MAILERS = mailers_from(env.email("EMAIL_URL", default="consolemail://"))  # consolemail:// prints messages
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="registry@localhost")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# --- Audit trail (apps.audit) -------------------------------------------------------------------------------------
# pghistory's triggers sit on the tracked tables of other apps (patients, blocks...). They are installed after
# every migrate instead of through those apps' migrations, so tracking a model never adds a migration to its app.
PGTRIGGER_MIGRATIONS = False
PGTRIGGER_INSTALL_ON_MIGRATE = True
PGHISTORY_INSTALL_CONTEXT_FUNC_ON_MIGRATE = True
# Behind N reverse proxies of our own, the client address is the N-th from the right of X-Forwarded-For.
AUDIT_TRUSTED_PROXIES = env.int("AUDIT_TRUSTED_PROXIES", default=0)

# --- Sign-in security (apps.accounts) ------------------------------------------------------------------------------
# Roles that must use a second factor (TOTP or a recovery code); Django-admin users (is_staff) always must.
MFA_REQUIRED_ROLES = env.list("MFA_REQUIRED_ROLES", default=["physician", "admin", "network"])
OTP_TOTP_ISSUER = env("OTP_TOTP_ISSUER", default=f"{CLINIC_NAME} registry")
# The django-otp admin never shows an authenticator's key or QR code (apps/accounts/admin.py hides the rest).
OTP_ADMIN_HIDE_SENSITIVE_DATA = True
# Failed sign-ins allowed per account and per client address in each window, the Django admin's included.
SIGN_IN_MAX_FAILURES_PER_ACCOUNT = env.int("SIGN_IN_MAX_FAILURES_PER_ACCOUNT", default=5)
SIGN_IN_MAX_FAILURES_PER_ADDRESS = env.int("SIGN_IN_MAX_FAILURES_PER_ADDRESS", default=30)
SIGN_IN_FAILURE_WINDOW_SECONDS = env.int("SIGN_IN_FAILURE_WINDOW_SECONDS", default=15 * 60)
# However active, a session ends this long after signing in.
SESSION_MAX_AGE_SECONDS = env.int("SESSION_MAX_AGE_SECONDS", default=12 * 60 * 60)
# Requests under these paths (and views decorated with apps.accounts.sessions.passive_request) do not renew the
# session: a page polling in the background must not keep an unattended workstation signed in.
SESSION_PASSIVE_PATH_PREFIXES = ["/poll/"]
SESSION_COOKIE_SAMESITE = "Lax"
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CONTENT_TYPE_NOSNIFF = True
# Content Security Policy (Django's own): scripts and styles from this site only, inline ones only with the
# request's nonce (none of the templates needs one), no eval, no framing.
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, CSP.NONCE],
    "style-src": [CSP.SELF, CSP.NONCE],
    "img-src": [CSP.SELF, "data:"],
    "font-src": [CSP.SELF],
    "connect-src": [CSP.SELF],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.SELF],
    "form-action": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
}

CELERY_BROKER_URL = REDIS_URL
CELERY_RESULT_BACKEND = None
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "UTC"
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = 240
CELERY_TASK_TIME_LIMIT = 300
# Longer than any task's hard time limit, so Redis never hands a running task to a second worker.
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
CELERY_BEAT_SCHEDULE: dict = {}
# Two queues (README: "Past one server"): the patients' messages (reminders going out, text replies coming in) on
# their own, so a long report run never holds up a reminder; report runs and everything else on "default". Each
# queue is bound under its own name only, so a message lands on one queue. A worker started without -Q consumes both
# (make run); docker-compose.yml runs one service per queue.
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_QUEUES = [Queue("default", routing_key="default"), Queue("messages", routing_key="messages")]
CELERY_TASK_ROUTES = {
    "apps.reminders.tasks.*": {"queue": "messages"},
    "apps.sms.tasks.*": {"queue": "messages"},
}

# Report runs (apps.reports): their PDF, CSV and XLSX files are kept here for download (a volume in Docker Compose).
REPORT_FILES_ROOT = env("REPORT_FILES_ROOT", default=str(BASE_DIR / "media" / "reports"))
# Registry uploads (apps.registry) wait here between the dry run and the confirmation.
REGISTRY_UPLOADS_ROOT = env("REGISTRY_UPLOADS_ROOT", default=str(BASE_DIR / "media" / "registry-uploads"))

# Patient survey links and reminders (apps.surveys, apps.reminders).
# The address patients' links point at: the site's public https:// origin in production.
SITE_URL = env("SITE_URL", default="http://127.0.0.1:8000").rstrip("/")
# Survey pages are the only ones in the patient's language; staff pages stay English (no LocaleMiddleware).
LANGUAGES = [("en", "English"), ("es", "Español")]
LOCALE_PATHS = [BASE_DIR / "locale"]
# SMS: "console" prints (make run), "fake" records in memory (tests), "twilio" sends through Twilio's REST API.
SMS_TRANSPORT = env("SMS_TRANSPORT", default="console")
TWILIO_ACCOUNT_SID = env("TWILIO_ACCOUNT_SID", default="")
TWILIO_AUTH_TOKEN = env("TWILIO_AUTH_TOKEN", default="")
TWILIO_FROM_NUMBER = env("TWILIO_FROM_NUMBER", default="")
TWILIO_API_URL = env("TWILIO_API_URL", default="https://api.twilio.com")
# Inbound text messages (apps.sms): at most this many per number and window are stored (the rest answered 429).
SMS_INBOUND_RATE_LIMIT = env.int("SMS_INBOUND_RATE_LIMIT", default=20)
SMS_INBOUND_RATE_WINDOW_SECONDS = env.int("SMS_INBOUND_RATE_WINDOW_SECONDS", default=600)
# Opening and submitting survey links: at most this many requests per address and window (counted in CACHES).
SURVEY_RATE_LIMIT = env.int("SURVEY_RATE_LIMIT", default=30)
SURVEY_RATE_WINDOW_SECONDS = env.int("SURVEY_RATE_WINDOW_SECONDS", default=600)
# Email through an anymail provider instead of EMAIL_URL's server: its backend, e.g.
# anymail.backends.postmark.EmailBackend, and its settings as ANYMAIL_<NAME> variables (ANYMAIL_POSTMARK_SERVER_TOKEN).
ANYMAIL_BACKEND = env("ANYMAIL_BACKEND", default="")
ANYMAIL = {
    name.removeprefix("ANYMAIL_"): value
    for name, value in env.ENVIRON.items()
    if name.startswith("ANYMAIL_") and name != "ANYMAIL_BACKEND"
}
if ANYMAIL_BACKEND:
    MAILERS = {"default": {"BACKEND": ANYMAIL_BACKEND}}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    # Request lines (runserver's django.server, gunicorn's access log, django.request's "Not Found: <path>") lose
    # their query string (?q= holds names) and a survey link's token. On the loggers that write them, so that every
    # handler (Django's own, pytest's) gets the cleaned record; on the handler for any other logger's.
    "filters": {"clean_request_lines": {"()": "apps.audit.logging.CleanRequestLines"}},
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "plain", "filters": ["clean_request_lines"]}
    },
    "loggers": {
        "django.request": {"filters": ["clean_request_lines"]},
        # gunicorn.error ("Error handling request <path>") is set by gunicorn not to propagate: it needs its handler.
        **{
            name: {"handlers": ["console"], "level": "INFO", "propagate": False, "filters": ["clean_request_lines"]}
            for name in ("django.server", "gunicorn.access", "gunicorn.error")
        },
    },
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
}

# --- REST API (apps.api) ---------------------------------------------------------------------------------------------
# Callers: the browser's session (CSRF-checked) or a bearer token an admin issued (Django admin, API tokens).
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "apps.api.authentication.BearerTokenAuthentication",  # first: its challenge makes anonymous calls 401
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": [
        "rest_framework.permissions.IsAuthenticated",
        "apps.api.permissions.ReadOnlyTokenPermission",
        "apps.api.permissions.RolePermission",
    ],
    "DEFAULT_THROTTLE_CLASSES": ["apps.api.throttling.TokenRateThrottle"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "apps.api.exceptions.exception_handler",
}
# Requests per token (or per signed-in user) and period (second, minute, hour or day).
API_RATE_LIMIT = env("API_RATE_LIMIT", default="600/min")
SPECTACULAR_SETTINGS = {
    "TITLE": "painreg API",
    "DESCRIPTION": "Patients, diagnostic blocks with their diary, treatments of every kind with their follow-ups, "
    "adverse events.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "apps.api.schema.fhir_operation_paths",
        "apps.api.schema.errors_and_links",
    ],
}
