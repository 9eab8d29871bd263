"""Django settings, read from the environment and the prod.env file (see deploy/prod.env.example).

With no ``DIVVY_DB_HOST`` the database is a SQLite file in ``INSIGHTCLOUD_DATA_DIR``; with no
``DIVVY_REDIS_HOST`` Celery uses kombu's filesystem transport in the same directory. The code,
queues and worker processes are the same either way: only the backing stores change.
"""

from __future__ import annotations

import os
import secrets
from datetime import timedelta
from pathlib import Path

from cryptography.fernet import Fernet

from insightcloud.env import Env, SettingError

BASE_DIR = Path(__file__).resolve().parent.parent
VERSION = "0.1.0"

env = Env.load()

# Proxy variables from prod.env must reach every cloud SDK, which read them from os.environ.
for _proxy_var in ("http_proxy", "https_proxy", "no_proxy", "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY"):
    if _proxy_var not in os.environ and env.file_values.get(_proxy_var):
        os.environ[_proxy_var] = env.file_values[_proxy_var]

DATA_DIR = env.path("INSIGHTCLOUD_DATA_DIR", BASE_DIR / "var")
DATA_DIR.mkdir(parents=True, exist_ok=True)

DB_HOST = env.str("DIVVY_DB_HOST")
REDIS_HOST = env.str("DIVVY_REDIS_HOST")
EMBEDDED_DB = DB_HOST is None
EMBEDDED_BROKER = REDIS_HOST is None


def _persisted_secret(name: str, filename: str, make: callable) -> str:
    """A key from the environment, or (embedded mode only) one generated once into the data dir.

    A multi-host install must share its keys, so with an external database they are required.
    """
    value = env.str(name)
    if value:
        return value
    if not EMBEDDED_DB:
        raise SettingError(f"{name}: required when DIVVY_DB_HOST is set (every host must share it)")
    path = DATA_DIR / filename
    if not path.exists():
        path.write_text(make())
        path.chmod(0o600)
    return path.read_text().strip()


SECRET_KEY = _persisted_secret("INSIGHTCLOUD_SECRET_KEY", "secret_key", lambda: secrets.token_urlsafe(50))
ENCRYPTION_KEYS = [
    key.strip()
    for key in _persisted_secret(
        "INSIGHTCLOUD_ENCRYPTION_KEY", "encryption_key", lambda: Fernet.generate_key().decode()
    ).split(",")
    if key.strip()
]
for _key in ENCRYPTION_KEYS:
    try:
        Fernet(_key)
    except (ValueError, TypeError):
        raise SettingError("INSIGHTCLOUD_ENCRYPTION_KEY: not a Fernet key (32 url-safe base64-encoded bytes)") from None

DEBUG = env.bool("INSIGHTCLOUD_DEBUG", False)
ALLOWED_HOSTS = env.list("INSIGHTCLOUD_ALLOWED_HOSTS", ["*"])
LOG_LEVEL = env.choice("INSIGHTCLOUD_LOG_LEVEL", "INFO", ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"))
SENTRY_DSN = env.str("SENTRY_DSN")

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "django_tables2",
    "axes",
    "drf_spectacular",
    "insightcloud.accounts",
    "insightcloud.inventory",
    "insightcloud.web",
    "insightcloud.api",
    "harvesters",
    "compliance",
    "scheduler",
    "insightcloud",  # last: locks the plug-in registry
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "insightcloud.web.middleware.LoginRequiredMiddleware",
    "axes.middleware.AxesMiddleware",  # last: turns lock-outs into a response
]

# --- Behind the TLS proxy (deploy/nginx, deploy/apache2) ----------------------------------------
# X-Forwarded-For/-Proto are believed only from INSIGHTCLOUD_TRUSTED_PROXIES (IPs/CIDRs); from any
# other peer insightcloud.forwarded strips them, so a forged "X-Forwarded-Proto: https" is ignored.
TRUSTED_PROXIES = env.list("INSIGHTCLOUD_TRUSTED_PROXIES", [])
MIDDLEWARE.insert(0, "insightcloud.forwarded.TrustedProxyMiddleware")
if TRUSTED_PROXIES:
    from insightcloud.forwarded import parse_networks

    try:
        parse_networks(TRUSTED_PROXIES)
    except ValueError as exc:
        raise SettingError(str(exc)) from None
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# Users reach us over HTTPS: cookies only over TLS, and browsers told to stay on HTTPS (HSTS).
TLS = env.bool("INSIGHTCLOUD_TLS", False)
if TLS:
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env.int("INSIGHTCLOUD_HSTS_SECONDS", 31536000, minimum=0)

# Who may give a cloud a custom endpoint URL (the server will connect to it): domain-admins or cloud-managers.
CLOUD_ENDPOINTS = env.choice("INSIGHTCLOUD_CLOUD_ENDPOINTS", "domain-admins", ("domain-admins", "cloud-managers"))

ROOT_URLCONF = "insightcloud.urls"
WSGI_APPLICATION = "insightcloud.wsgi.application"
AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "/login"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/login"
AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend", "django.contrib.auth.backends.ModelBackend"]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Lock-out after repeated failed logins, per user name and (separately) per address.
AXES_FAILURE_LIMIT = env.int("INSIGHTCLOUD_LOGIN_FAILURE_LIMIT", 5, minimum=1)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("INSIGHTCLOUD_LOGIN_LOCKOUT_MINUTES", 15, minimum=1))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "web/locked_out.html"
AXES_VERBOSE = False
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_AGE = env.int("INSIGHTCLOUD_SESSION_HOURS", 12, minimum=1) * 3600

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
            ]
        },
    }
]

if EMBEDDED_DB:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": env.path("INSIGHTCLOUD_SQLITE_FILE", DATA_DIR / "insightcloud.sqlite3"),
            # Tests use a file (not memory) so that worker processes they start see the same data.
            "TEST": {"NAME": str(DATA_DIR / "test-insightcloud.sqlite3")},
            # Several processes share the file: wait for locks instead of failing at once.
            "OPTIONS": {
                "timeout": 30,
                "transaction_mode": "IMMEDIATE",
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            },
        }
    }
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.mysql",
            "HOST": DB_HOST,
            "PORT": env.int("DIVVY_DB_PORT", 3306, minimum=1, maximum=65535),
            "USER": env.str("DIVVY_DB_USERNAME", "divvy"),
            "PASSWORD": env.str("DIVVY_DB_PASSWORD", ""),
            "NAME": env.str("DIVVY_DB_NAME", "divvycloud"),
            "CONN_MAX_AGE": env.int("INSIGHTCLOUD_DB_CONN_MAX_AGE", 60, minimum=0),
            "CONN_HEALTH_CHECKS": True,
            "OPTIONS": {
                "charset": "utf8mb4",
                "connect_timeout": 5,
                "isolation_level": "read committed",
                "init_command": "SET sql_mode='STRICT_TRANS_TABLES'",
            },
            "TEST": {"CHARSET": "utf8mb4", "COLLATION": "utf8mb4_unicode_ci"},
        }
    }
# The port is validated even in embedded mode so that a typo never goes unnoticed.
env.int("DIVVY_DB_PORT", 3306, minimum=1, maximum=65535)

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Celery: three queues, strict priority, nothing lost when a worker dies ---------------
REDIS_PORT = env.int("DIVVY_REDIS_PORT", 6379, minimum=1, maximum=65535)
REDIS_PASSWORD = env.str("DIVVY_REDIS_PASSWORD")
REDIS_DB = env.int("INSIGHTCLOUD_REDIS_DB", 0, minimum=0, maximum=15)
# With Redis: our subclass of kombu's Redis transport (insightcloud/broker.py), lighter per
# message; "kombu" falls back to kombu's own, should a kombu upgrade ever disagree with it.
_TRANSPORT = env.choice("INSIGHTCLOUD_BROKER_TRANSPORT", "insightcloud", ("insightcloud", "kombu"))
if EMBEDDED_BROKER:
    BROKER_DIR = DATA_DIR / "broker"
    for _sub in ("queue", "processed", "control"):
        (BROKER_DIR / _sub).mkdir(parents=True, exist_ok=True)
    REDIS_URL = None
    CELERY_BROKER_URL = "filesystem://"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(BROKER_DIR / "queue"),
        "data_folder_out": str(BROKER_DIR / "queue"),
        "processed_folder": str(BROKER_DIR / "processed"),
        "control_folder": str(BROKER_DIR / "control"),
        "store_processed": False,
    }
else:
    _auth = f":{REDIS_PASSWORD}@" if REDIS_PASSWORD else ""
    REDIS_URL = f"redis://{_auth}{REDIS_HOST}:{REDIS_PORT}/{REDIS_DB}"
    CELERY_BROKER_URL = REDIS_URL
    CELERY_BROKER_TRANSPORT = {"insightcloud": "insightcloud.broker:Transport", "kombu": "redis"}[_TRANSPORT]
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        # Poll p0, then p1, then p2 on every fetch: strict priority between queues.
        "queue_order_strategy": "priority",
        # A task unacknowledged this long (its worker died) is delivered again.
        "visibility_timeout": env.int("INSIGHTCLOUD_VISIBILITY_TIMEOUT", 7200, minimum=60),
        "socket_timeout": 10,
        "socket_connect_timeout": 5,
        "retry_on_timeout": True,
        "health_check_interval": 30,
    }
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_IGNORE_RESULT = True  # the Job row is the result
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Celery's prefork pool, checking on its processes more often (insightcloud/worker_pool.py).
CELERY_WORKER_POOL = "insightcloud.worker_pool:PreforkPool"
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
# A process is recycled after this many jobs or above this much memory (checked after each job).
# Memory is the real guard (large harvests); the job count only bounds slower leaks, and each
# recycle costs a new process's start (~0.1 s before it takes a job), so it is not small.
CELERY_WORKER_MAX_TASKS_PER_CHILD = env.int("INSIGHTCLOUD_WORKER_MAX_TASKS", 1000, minimum=1)
CELERY_WORKER_MAX_MEMORY_PER_CHILD = env.int("INSIGHTCLOUD_WORKER_MAX_MEMORY_MB", 1024, minimum=64) * 1024
CELERY_TIMEZONE = "UTC"

HEARTBEAT_INTERVAL = env.int("INSIGHTCLOUD_HEARTBEAT_SECONDS", 10, minimum=1)

# --- Jobs and the scheduler (scheduler/) ---------------------------------------------------
#: A running job writes Job.heartbeat_at this often; the scheduler re-enqueues one silent for JOB_STALE_SECONDS.
JOB_HEARTBEAT_SECONDS = env.int("INSIGHTCLOUD_JOB_HEARTBEAT_SECONDS", 10, minimum=1)
JOB_STALE_SECONDS = env.int("INSIGHTCLOUD_JOB_STALE_SECONDS", 90, minimum=2)
#: Runs of one job (first run, transient-error retries and re-runs after a lost worker) before it fails.
JOB_MAX_ATTEMPTS = env.int("INSIGHTCLOUD_JOB_MAX_ATTEMPTS", 4, minimum=1, maximum=50)
JOB_RETRY_BASE_SECONDS = env.int("INSIGHTCLOUD_JOB_RETRY_BASE_SECONDS", 30, minimum=0)
JOB_RETRY_MAX_SECONDS = env.int("INSIGHTCLOUD_JOB_RETRY_MAX_SECONDS", 1800, minimum=0)
#: Extra modules registering job kinds (plug-ins; tests use it for throw-away kinds in worker processes).
JOB_MODULES = env.list("INSIGHTCLOUD_JOB_MODULES", [])
#: The scheduler loop: how often it ticks, and the TTL of the leader lock (a standby takes over within it).
SCHEDULER_TICK_SECONDS = env.int("INSIGHTCLOUD_SCHEDULER_TICK_SECONDS", 5, minimum=1)
SCHEDULER_LOCK_TTL_SECONDS = env.int("INSIGHTCLOUD_SCHEDULER_LOCK_TTL_SECONDS", 20, minimum=2)
#: Backlog metrics: "none", "cloudwatch" (AWS) or "cloudmonitoring" (Google Cloud Monitoring);
#: exported every METRICS_INTERVAL_SECONDS by a p1 job.
METRICS_BACKEND = env.choice("INSIGHTCLOUD_METRICS_BACKEND", "none", ("none", "cloudwatch", "cloudmonitoring"))
METRICS_NAMESPACE = env.str("INSIGHTCLOUD_METRICS_NAMESPACE", "InsightCloud")
METRICS_REGION = env.str("INSIGHTCLOUD_METRICS_REGION", "us-east-1")
METRICS_ENDPOINT_URL = env.str("INSIGHTCLOUD_METRICS_ENDPOINT_URL")
#: Google Cloud Monitoring: a service-account key file (role Monitoring Metric Writer) and the project
#: written to (default: the key's own project).
METRICS_GCP_KEY_FILE = env.str("INSIGHTCLOUD_METRICS_GCP_KEY_FILE")
METRICS_GCP_PROJECT = env.str("INSIGHTCLOUD_METRICS_GCP_PROJECT")
METRICS_INTERVAL_SECONDS = env.int("INSIGHTCLOUD_METRICS_INTERVAL_SECONDS", 60, minimum=10)

INTERFACE_BIND = env.str("INSIGHTCLOUD_BIND", "0.0.0.0:8001")
INTERFACE_WORKERS = env.int("INSIGHTCLOUD_WEB_WORKERS", 2, minimum=1, maximum=64)

# --- Web --------------------------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True
STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = DATA_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)
WHITENOISE_USE_FINDERS = True  # serve from the source tree without collectstatic in test drive

REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "insightcloud.accounts.api_keys.ApiKeyAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "EXCEPTION_HANDLER": "insightcloud.api.errors.exception_handler",
    "DEFAULT_PAGINATION_CLASS": "insightcloud.api.pagination.ClampedPageNumberPagination",
    "PAGE_SIZE": 100,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "InsightCloud API",
    "VERSION": VERSION,
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "insightcloud.api.schema.add_error_responses",
    ],
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {"django.db.backends": {"level": "INFO"}},
}

if SENTRY_DSN:
    # Errors of every process, tagged and scrubbed of secrets (insightcloud/sentry.py).
    from insightcloud.sentry import init_sentry

    init_sentry(
        SENTRY_DSN,
        release=f"insightcloud@{VERSION}",
        environment=env.str("SENTRY_ENVIRONMENT"),
        secrets=(SECRET_KEY, *ENCRYPTION_KEYS, env.str("DIVVY_DB_PASSWORD"), REDIS_PASSWORD),
    )
