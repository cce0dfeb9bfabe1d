"""Settings for the call center. Every value comes from the environment.

The defaults are the embedded setup: SQLite, the database task queue with its worker
inside the serve process, the in-memory channel layer and the sandbox carrier.
"""

from datetime import timedelta
from pathlib import Path

import environ
from csp.constants import NONE, SELF, UNSAFE_INLINE
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()

DEBUG = env.bool("DEBUG", default=False)
SECRET_KEY = env.str("SECRET_KEY", default="insecure-local-only-set-SECRET_KEY-in-production")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

# PRODUCTION=true: HTTPS only, secure cookies, HSTS (`manage.py check --deploy` is clean
# with it; tests/security/test_deploy_settings.py runs that check).
PRODUCTION = env.bool("PRODUCTION", default=False)
if PRODUCTION:
    if SECRET_KEY.startswith("insecure-") or len(SECRET_KEY) < 50:
        raise ImproperlyConfigured("PRODUCTION needs a SECRET_KEY of 50 or more random characters.")
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31_536_000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=True)
    if env.bool("BEHIND_TLS_PROXY", default=False):
        # The proxy terminates TLS and says so in X-Forwarded-Proto.
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SESSION_COOKIE_HTTPONLY = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

# Content-Security-Policy (django-csp) on every page: the console, wallboard and admin load
# scripts, styles and sockets only from us. The Swagger UI page (/api/docs/) is left out.
CONTENT_SECURITY_POLICY = {
    "EXCLUDE_URL_PREFIXES": ["/api/docs/"],
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        # The admin sets a few style attributes inline.
        "style-src": [SELF, UNSAFE_INLINE],
        "img-src": [SELF, "data:"],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    },
}

# Where carriers reach us. Callback URLs are built from this, never from a request's Host.
PUBLIC_BASE_URL = env.str("PUBLIC_BASE_URL", default="http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework_api_key",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "channels",
    "django_tasks",
    "django_tasks_db",
    "axes",
    "csp",
    "import_export",
    "callcenter",
    "tenants",
    "calls",
    "agents",
    "floor",
    "auditlog",
]

MIDDLEWARE = [
    # First: /healthz and /readyz answer before host checks, redirects, sessions and CSP.
    "callcenter.health.HealthMiddleware",
    "callcenter.logs.RequestIdMiddleware",
    "callcenter.metrics.RequestMetricsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "tenants.middleware.HostileInputMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "tenants.display.OrganizationTimeZoneMiddleware",
    "auditlog.middleware.AuditlogMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "tenants.middleware.DatabaseUnavailableMiddleware",
    "callcenter.csp.PageCSPMiddleware",
    # Answers a locked-out login with its message (django-axes).
    "axes.middleware.AxesMiddleware",
    # Last, so nothing sync-only sits below it: under ASGI it serves files as an async stream.
    "callcenter.staticfiles.StaticFilesMiddleware",
]

ROOT_URLCONF = "callcenter.urls"
# The machine-facing paths (the APIs and carrier callbacks): under ASGI their middleware chain
# and view run in one thread (callcenter/handlers.py), and REQUEST_CONCURRENCY bounds them
# (callcenter/admission.py). They serve no static files and have no async views.
API_PATH_PREFIXES = ["/superfone/", "/api/v1/", "/webhooks/"]
ASGI_APPLICATION = "callcenter.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the worker write while requests read; IMMEDIATE takes the write lock up
    # front so two writers queue on the busy timeout instead of failing to upgrade.
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }
elif env.bool("DATABASE_POOL", default=True):
    # Under ASGI each request runs its sync view in a thread of its own, so persistent
    # per-thread connections pile up until PostgreSQL refuses more; a pool per process
    # reuses a bounded set instead (Django closes a connection back into it).
    # A request waits at most DATABASE_POOL_TIMEOUT for a connection, so while the database
    # is down requests fail fast instead of queueing; connections are checked when taken,
    # so none left dead by a database restart is handed out (CONN_HEALTH_CHECKS).
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": 2,
        "max_size": env.int("DATABASE_POOL_SIZE", default=10),
        "timeout": env.float("DATABASE_POOL_TIMEOUT", default=1.0),
    }
else:
    DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=60))
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True

# API requests one web process works on at once (0: no bound); beyond it a request waits
# in line up to REQUEST_QUEUE_TIMEOUT seconds, then gets 503 with Retry-After
# (callcenter/admission.py). Kept below DATABASE_POOL_SIZE so requests rarely wait for a connection;
# 8 served more and faster than 4 on two cores, and 16 no more (docs/performance.md).
REQUEST_CONCURRENCY = env.int("REQUEST_CONCURRENCY", default=8)
REQUEST_QUEUE_TIMEOUT = env.float("REQUEST_QUEUE_TIMEOUT", default=1.0)

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
# Seconds between the in-process worker's polls of the task queue, and between sweeps.
TASK_WORKER_INTERVAL = env.float("TASK_WORKER_INTERVAL", default=0.2)
TASK_WORKER_THREADS = env.int("TASK_WORKER_THREADS", default=2)
SWEEP_INTERVAL = env.float("SWEEP_INTERVAL", default=5.0)
# Retention (callcenter/retention.py): finished calls, their events and webhooks are kept this
# many days unless the organization says otherwise; finished task rows TASK_RETENTION_DAYS.
# Workers queue a purge every RETENTION_INTERVAL seconds (0: never; run purge_old_data).
RETENTION_DAYS = env.int("RETENTION_DAYS", default=90)
TASK_RETENTION_DAYS = env.int("TASK_RETENTION_DAYS", default=7)
RETENTION_INTERVAL = env.float("RETENTION_INTERVAL", default=3600.0)
RETENTION_BATCH_SIZE = env.int("RETENTION_BATCH_SIZE", default=500)
# On SIGTERM: how long a worker lets its running tasks finish before handing them back, and
# how long the web server lets requests finish. Keep both under the orchestrator's kill timeout.
WORKER_SHUTDOWN_GRACE = env.float("WORKER_SHUTDOWN_GRACE", default=20.0)
WEB_SHUTDOWN_GRACE = env.int("WEB_SHUTDOWN_GRACE", default=20)
# A call not placed within this many seconds (or placed and never reported on) fails.
CALL_QUEUE_TIMEOUT = env.int("CALL_QUEUE_TIMEOUT", default=600)

REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    # Connection options chosen so idle sockets last and hundreds can close at once:
    # why each is set is in callcenter/channel_layers.py.
    from callcenter.channel_layers import redis_channel_layers

    # Live pushes travel over Redis pub/sub from this entry (calls/realtime.py).
    CHANNEL_LAYERS = redis_channel_layers(REDIS_URL, max_connections=env.int("REDIS_MAX_CONNECTIONS", default=200))
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
else:
    # One process: calls/realtime.py hands pushes to its own event loop.
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

# /readyz fails its task_queue part when the oldest due task has waited longer than this.
READY_QUEUE_LAG_SECONDS = env.float("READY_QUEUE_LAG_SECONDS", default=30.0)

# /metrics (Prometheus) answers only with `Authorization: Bearer <METRICS_TOKEN>`; unset, it is a 404.
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")
# prometheus-client reads this itself: set it (an empty directory, per machine, wiped at start)
# when web and workers run as several processes, so /metrics adds up all of them.
PROMETHEUS_MULTIPROC_DIR = env.str("PROMETHEUS_MULTIPROC_DIR", default="")

# Calls one organization may create per second/minute/hour ("30/s", "600/m"), over the
# SFVoPI, click-to-call and /api/v1 endpoints together.
CALL_CREATE_RATE = env.str("CALL_CREATE_RATE", default="30/s")

# Login throttling (django-axes) for the agents' login and the admin's: after
# LOGIN_FAILURE_LIMIT failures for one username from one address, that pair is locked out
# for LOGIN_LOCKOUT_MINUTES (or until unlocked in the admin, "Access attempts").
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.float("LOGIN_LOCKOUT_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]
LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/console/"
LOGOUT_REDIRECT_URL = "/accounts/login/"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
FORMS_URLFIELD_ASSUME_HTTPS = True  # Django 6's behaviour, opted into now

STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
# Static files are served by WhiteNoise straight from the app folders (no collectstatic
# step); set STATIC_ROOT only for a deployment that collects them.
STATIC_ROOT = env.str("STATIC_ROOT", default=None)
WHITENOISE_USE_FINDERS = True

REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "callcenter.schema.AutoSchema",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["tenants.parsers.SafeJSONParser"],
    "UNAUTHENTICATED_USER": None,
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Call center API",
    "DESCRIPTION": "SFVoPI-compatible outbound calls, click-to-call and the /api/v1 REST API.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # The schema and its docs are public; the operations they describe are not.
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SERVE_AUTHENTICATION": [],
    # Swagger UI from the drf-spectacular-sidecar package, so /api/docs/ works offline.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # One name per choice set shared by several serializers (callables: nested Choices classes).
    "ENUM_NAME_OVERRIDES": {
        "HttpMethodEnum": "calls.models.HttpMethod.values",
        "CallStatusEnum": "calls.models.CallStatus.values",
        "CallKindEnum": "callcenter.schema.call_kinds",
        "AppStatusEnum": "callcenter.schema.app_statuses",
        "WebhookKindEnum": "callcenter.schema.webhook_kinds",
        "WebhookStateEnum": "callcenter.schema.webhook_states",
    },
    "PREPROCESSING_HOOKS": ["callcenter.schema.documented_endpoints"],
}

# How long a process trusts an API key it has verified; a revoked key stops working within this.
API_KEY_CACHE_SECONDS = env.float("API_KEY_CACHE_SECONDS", default=5.0)

# Phone numbers without a country code are read in this region.
DEFAULT_PHONE_REGION = env.str("DEFAULT_PHONE_REGION", default="IN")

# Loopback, private and link-local webhook targets are refused unless this is set.
ALLOW_PRIVATE_WEBHOOK_URLS = env.bool("ALLOW_PRIVATE_WEBHOOK_URLS", default=False)

# Call recordings (calls.recordings). Files go to the "recordings" storage: local files
# under MEDIA_ROOT by default (never served as public URLs; an organization-checked view
# streams them), or an S3-compatible bucket through django-storages when
# RECORDINGS_BUCKET is set (pip install 'django-storages[s3]'; boto3 reads the
# AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY credentials itself).
MEDIA_ROOT = env.str("MEDIA_ROOT", default=str(BASE_DIR / "media"))
RECORDINGS_BUCKET = env.str("RECORDINGS_BUCKET", default="")
RECORDINGS_ENDPOINT_URL = env.str("RECORDINGS_ENDPOINT_URL", default="")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    "recordings": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(Path(MEDIA_ROOT) / "recordings"), "base_url": None},
    },
}
if RECORDINGS_BUCKET:
    STORAGES["recordings"] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": RECORDINGS_BUCKET,
            "endpoint_url": RECORDINGS_ENDPOINT_URL or None,
            "location": "recordings",
            "default_acl": "private",
            "file_overwrite": False,
        },
    }
# A carrier's recording is fetched by the worker: at most this many bytes, within this many seconds.
RECORDING_MAX_BYTES = env.int("RECORDING_MAX_BYTES", default=200 * 1024 * 1024)
RECORDING_FETCH_TIMEOUT = env.float("RECORDING_FETCH_TIMEOUT", default=60.0)

# The sandbox carrier's simulated network.
SANDBOX_RING_SECONDS = env.float("SANDBOX_RING_SECONDS", default=2.0)
SANDBOX_TALK_SECONDS = env.float("SANDBOX_TALK_SECONDS", default=5.0)

# Logs: one JSON object per line (LOG_FORMAT=json, the default with PRODUCTION) or readable
# lines (console); every line carries the request id it belongs to (callcenter/logs.py).
LOG_FORMAT = env.str("LOG_FORMAT", default="json" if PRODUCTION else "console")
if LOG_FORMAT not in ("json", "console"):
    raise ImproperlyConfigured("LOG_FORMAT is json or console.")
from callcenter import logs as _logs  # noqa: E402  (structlog's side of the same configuration)

_logs.configure_structlog()
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "json": {"()": "callcenter.logs.json_formatter"},
        "console": {"()": "callcenter.logs.console_formatter"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"django_tasks": {"level": "WARNING"}, "django_tasks_db": {"level": "WARNING"}},
}

# Real carriers: the first retry of a failed placement waits about this long, doubling after.
CARRIER_RETRY_BASE_SECONDS = env.float("CARRIER_RETRY_BASE_SECONDS", default=2.0)
