"""FraudOps settings, all from the environment.

Without ``DATABASE_URL`` the app runs on a SQLite file; without ``REDIS_URL`` it uses an
in-process feature store, an in-memory channel layer, a local-memory cache and eager Celery.
With both set, PostgreSQL and Redis serve everything: that is the production path CI proves.
"""

import importlib.util
import os
from pathlib import Path
from typing import Any

import dj_database_url
import django_stubs_ext
from django.core.exceptions import ImproperlyConfigured

# Lets admin and form classes be subscripted for mypy (ModelAdmin[Rule]) at run time.
django_stubs_ext.monkeypatch()

BASE_DIR = Path(__file__).resolve().parent.parent


def _package_dir(name: str) -> Path:
    """A package's directory, without importing it (plotly is slow to import)."""
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise ImproperlyConfigured(f"the {name} package is not installed")
    return Path(next(iter(spec.submodule_search_locations)))


def envbool(name: str, default: str) -> bool:
    value = os.getenv(name, default).strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off", ""}:
        return False
    raise ValueError(f"{name}={value!r}: expected a boolean (1/0, true/false, yes/no)")


def envint(name: str, default: int) -> int:
    raw = os.getenv(name)
    if raw is None:
        return default
    try:
        return int(raw)
    except ValueError:
        raise ValueError(f"{name}={raw!r}: expected an integer") from None


def envfloat(name: str, default: float) -> float:
    raw = os.getenv(name)
    if raw is None:
        return default
    try:
        return float(raw)
    except ValueError:
        raise ValueError(f"{name}={raw!r}: expected a number") from None


DEBUG = envbool("DEBUG", "0")
# The insecure defaults exist for `make demo` and tests; `manage.py check --deploy` flags them.
SECRET_KEY = os.getenv("SECRET_KEY", "django-insecure-fraudops-dev-only")
# Key for the HMAC that replaces e-mail addresses before they are stored or matched.
PII_HASH_KEY = os.getenv("PII_HASH_KEY", "fraudops-dev-only-pii-key")
ALLOWED_HOSTS = [h for h in os.getenv("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]").split(",") if h]
SITE_ROOT = os.getenv("SITE_ROOT", "http://127.0.0.1:8000")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "channels",
    "rules",
    "scoring",
    "cases",
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
]

ROOT_URLCONF = "fraudops.urls"
WSGI_APPLICATION = "fraudops.wsgi.application"
ASGI_APPLICATION = "fraudops.asgi.application"

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

DATABASE_URL = os.getenv("DATABASE_URL", "")
if DATABASE_URL:
    _db = dj_database_url.parse(DATABASE_URL)
    if _db["ENGINE"] == "django.db.backends.postgresql":
        # psycopg's pool: a worker reuses open connections instead of paying a
        # PostgreSQL backend start-up on every request (several times the cost of a decision).
        # When PostgreSQL is down a request waits for a connection at most DB_POOL_TIMEOUT,
        # then answers 503: a client retries faster than a stuck request would answer, and a
        # sync worker waiting longer only queues the requests behind it. A lost connection is
        # retried with backoff for DB_POOL_RECONNECT_TIMEOUT, then again on the next request,
        # so the pool is back within seconds of PostgreSQL (docs/deployment.md).
        _db["OPTIONS"] = {
            "pool": {
                "min_size": envint("DB_POOL_MIN", 1),
                "max_size": envint("DB_POOL_MAX", 8),
                "timeout": envfloat("DB_POOL_TIMEOUT", 0.5),
                "reconnect_timeout": envfloat("DB_POOL_RECONNECT_TIMEOUT", 5.0),
            },
            # libpq's limit on one connection attempt (2 s is its minimum): an unreachable
            # host does not hold a pool worker for the operating system's TCP timeout.
            "connect_timeout": envint("DB_CONNECT_TIMEOUT", 2),
        }
        _db["CONN_MAX_AGE"] = 0
    DATABASES = {"default": _db}
else:
    (BASE_DIR / "var").mkdir(exist_ok=True)
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": os.getenv("SQLITE_PATH", str(BASE_DIR / "var" / "fraudops.sqlite3")),
            "OPTIONS": {"timeout": 20, "transaction_mode": "IMMEDIATE"},
        }
    }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = os.getenv("REDIS_URL", "")
if REDIS_URL:
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
    }
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [REDIS_URL], "prefix": "fraudops:channels"},
        }
    }
    FEATURE_STORE = "redis"
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    FEATURE_STORE = "memory"

# Celery: the Redis broker in production, tasks run inline (eager) in the embedded default.
CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = None
CELERY_TASK_ALWAYS_EAGER = not REDIS_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULE = {
    # Publishes a new cold-feature generation once per COLD_FEATURES_PERIOD_SECONDS; checking
    # more often than that only makes a missed period catch up sooner.
    "cold-features": {
        "task": "scoring.tasks.cold_features_refresh_task",
        "schedule": float(os.getenv("COLD_FEATURES_CHECK_SECONDS", "60")),
    },
    "case-leases": {"task": "cases.tasks.case_leases_release_task", "schedule": 30.0},
    "drift": {"task": "scoring.tasks.drift_check_task", "schedule": 6 * 3600.0},
    "explain-pending-approvals": {
        "task": "scoring.tasks.decisions_explain_pending_task",
        "schedule": 60.0,
    },
}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

LANGUAGE_CODE = "en"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

STATIC_URL = "/static/"
STATICFILES_DIRS: list[Any] = [
    BASE_DIR / "static",
    # plotly.js from the plotly package itself: served by us, the same version, no CDN.
    ("vendor/plotly", _package_dir("plotly") / "package_data"),
]
# Where `collectstatic` puts files for production; unset in development.
STATIC_ROOT = os.getenv("STATIC_ROOT") or None
# WhiteNoise serves static files (admin, API docs, our JS) from the app itself: no CDN, no
# separate web server needed; it finds them without collectstatic too.
WHITENOISE_USE_FINDERS = True

LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/cases/"

# A decision request is small; anything bigger than this is refused with 413.
DATA_UPLOAD_MAX_MEMORY_SIZE = 64 * 1024

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["scoring.auth.ApiKeyAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "scoring.errors.api_exception_handler",
    "UNAUTHENTICATED_USER": None,
}

SPECTACULAR_SETTINGS = {
    "TITLE": "FraudOps API",
    "DESCRIPTION": "Real-time fraud decisions, labels and their records.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# How often a worker checks whether rules, lists or thresholds changed (seconds).
RULESET_REFRESH_SECONDS = float(os.getenv("RULESET_REFRESH_SECONDS", "1.0"))
# Mount the benchmark's floor endpoints (bench/decisions.py sets this on its own server only).
BENCH_FLOOR_ENDPOINTS = envbool("BENCH_FLOOR_ENDPOINTS", "0")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.getenv("LOG_LEVEL", "WARNING")},
}

# Where trained LightGBM model files are kept (a shared volume when several hosts serve).
MODEL_DIR = os.getenv("MODEL_DIR", str(BASE_DIR / "var" / "models"))
# How often a worker checks which model version is active (seconds).
MODEL_REFRESH_SECONDS = float(os.getenv("MODEL_REFRESH_SECONDS", "2.0"))
# Cold (batch) features are computed as of the start of each period of this length.
COLD_FEATURES_PERIOD_SECONDS = float(os.getenv("COLD_FEATURES_PERIOD_SECONDS", "3600"))
COLD_FEATURES_CHECK_SECONDS = float(os.getenv("COLD_FEATURES_CHECK_SECONDS", "60"))
# The embedded default (no Redis) refreshes them on a thread of the server instead of beat.
COLD_FEATURES_REFRESH_IN_PROCESS = envbool("COLD_FEATURES_REFRESH_IN_PROCESS", "1")
# How long a claimed case stays with its analyst without activity (minutes).
CASE_LEASE_MINUTES = float(os.getenv("CASE_LEASE_MINUTES", "15"))
# Explain approvals on a thread after the response (else inline, right after commit).
EXPLAIN_APPROVALS_IN_BACKGROUND = envbool("EXPLAIN_APPROVALS_IN_BACKGROUND", "1")
