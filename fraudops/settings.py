"""FraudOps settings, all from the environment.

Without ``DATABASE_URL`` the app runs on a SQLite file; without ``REDIS_URL`` it uses an
in-process feature store, an in-memory channel layer, a local-memory cache and eager Celery.
With both set, PostgreSQL and Redis serve everything: that is the production path CI proves.
"""

import importlib.util
import os
from datetime import timedelta
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


def envlist(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.getenv(name, default).split(",") if item.strip()]


# Public development values: `make` and pytest pass these (DEBUG off, as in production);
# `manage.py check --deploy` flags both.
DEV_SECRET_KEY = "django-insecure-fraudops-dev-only"  # noqa: S105 (public on purpose)
DEV_PII_HASH_KEY = "fraudops-dev-only-pii-key"


def envsecret(name: str, *, debug: bool, dev_value: str) -> str:
    """A secret from the environment; only with DEBUG on may it fall back to a public one.

    DEBUG is off by default, so a production host that forgot a secret stops here instead of
    running on a key anyone can read in this file. `make` and pytest pass development values.
    """
    value = os.getenv(name, "")
    if value:
        return value
    if debug:
        return dev_value
    raise ImproperlyConfigured(
        f"{name} is not set and DEBUG is off. Set {name} to a long random value, e.g. the output "
        "of `python -c 'import secrets; print(secrets.token_urlsafe(50))'`, or set DEBUG=1 on a "
        "development machine (`make demo` and `make test` pass development values). "
        "See docs/deployment.md."
    )


def envfloat(name: str, default: float) -> float:
    raw = os.getenv(name)
    if raw is None:
        return default
    try:
        return float(raw)
    except ValueError:
        raise ValueError(f"{name}={raw!r}: expected a number") from None


DEBUG = envbool("DEBUG", "0")
SECRET_KEY = envsecret("SECRET_KEY", debug=DEBUG, dev_value=DEV_SECRET_KEY)
# Key for the HMAC that replaces e-mail addresses before they are stored or matched.
PII_HASH_KEY = envsecret("PII_HASH_KEY", debug=DEBUG, dev_value=DEV_PII_HASH_KEY)
ALLOWED_HOSTS = envlist("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]")
SITE_ROOT = os.getenv("SITE_ROOT", "http://127.0.0.1:8000")

# --- HTTPS ---------------------------------------------------------------------------------
# HTTPS=1: the site is served over HTTPS, so cookies are Secure, plain HTTP is redirected and
# browsers are told (HSTS) never to use plain HTTP. Each part can be overridden on its own.
HTTPS = envbool("HTTPS", "0")
SESSION_COOKIE_SECURE = envbool("SESSION_COOKIE_SECURE", str(int(HTTPS)))
CSRF_COOKIE_SECURE = envbool("CSRF_COOKIE_SECURE", str(int(HTTPS)))
SECURE_SSL_REDIRECT = envbool("SECURE_SSL_REDIRECT", str(int(HTTPS)))
# Load balancers and Prometheus often probe over plain HTTP inside the network.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^metrics$"]
SECURE_HSTS_SECONDS = envint("SECURE_HSTS_SECONDS", 365 * 24 * 3600 if HTTPS else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = envbool("SECURE_HSTS_INCLUDE_SUBDOMAINS", str(int(HTTPS)))
SECURE_HSTS_PRELOAD = envbool("SECURE_HSTS_PRELOAD", str(int(HTTPS)))
# Behind a TLS-terminating proxy, name the header it sets (e.g. X-Forwarded-Proto) so Django
# knows a request came over HTTPS. Only when the proxy overwrites that header from clients.
_proxy_ssl_header = os.getenv("SECURE_PROXY_SSL_HEADER", "")
SECURE_PROXY_SSL_HEADER = (
    ("HTTP_" + _proxy_ssl_header.upper().replace("-", "_"), "https") if _proxy_ssl_header else None
)
# Origins (scheme://host[:port]) allowed to POST forms, e.g. https://fraudops.example.com.
CSRF_TRUSTED_ORIGINS = envlist("CSRF_TRUSTED_ORIGINS", "")
# How many reverse proxies append to X-Forwarded-For in front of the app; the client IP that
# login lockouts and the API-key throttle count is the one the outermost proxy saw. 0: the
# TCP peer (REMOTE_ADDR), which a client cannot forge.
NUM_PROXIES = envint("NUM_PROXIES", 0)

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
    "fraudops.audit",
    # Last, as its docs ask: it wraps the authentication of every app above.
    "axes",
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
    # Last: it turns a lockout raised during authentication into the 429 page.
    "axes.middleware.AxesMiddleware",
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
                "scoring.context_processors.drift_alert",
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
        # so the pool is back within seconds of PostgreSQL (docs/deployment.md). Each connection
        # is checked as it leaves the pool (one round trip): after a restart of PostgreSQL a
        # pooled connection that died with it is replaced, not handed to a request as a 503.
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
            # A statement run with server-side binding (a decision's insert,
            # scoring/decision_insert.py) is prepared on its connection from its fifth run.
            # Django turns that off for poolers that share a backend between clients
            # (PgBouncer in transaction mode): set DB_PREPARED_STATEMENTS=0 behind one.
            "prepare_threshold": 5 if envbool("DB_PREPARED_STATEMENTS", "1") else None,
        }
        _db["CONN_MAX_AGE"] = 0
        # Django then gives the pool psycopg's check_connection.
        _db["CONN_HEALTH_CHECKS"] = True
    DATABASES = {"default": _db}
else:
    (BASE_DIR / "var").mkdir(exist_ok=True)
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": os.getenv("SQLITE_PATH", str(BASE_DIR / "var" / "fraudops.sqlite3")),
            # WAL: readers (the pages) do not wait for the writer (the live traffic's
            # decisions) nor block it, so the demo's server and traffic do not meet
            # "database is locked"; IMMEDIATE takes the write lock at BEGIN, so a writer waits
            # (up to timeout seconds) instead of failing when it upgrades.
            "OPTIONS": {
                "timeout": 20,
                "transaction_mode": "IMMEDIATE",
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            },
        }
    }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = os.getenv("REDIS_URL", "")
# What a request waits for Redis before it goes on without it (seconds), to connect or for an
# answer: the feature store (the decision is then degraded) and the API-key cache (the database
# answers). While down, the cache is tried every 5 s, the channel layer every 2 s.
REDIS_TIMEOUT_SECONDS = envfloat("REDIS_TIMEOUT_SECONDS", 0.25)
# The longest a decision that opens a case waits to tell the analysts' pages about it.
CHANNEL_SEND_TIMEOUT_SECONDS = envfloat("CHANNEL_SEND_TIMEOUT_SECONDS", 0.25)
# While the feature store is down, one decision per this many seconds tries it again; the
# others are decided degraded at once.
FEATURE_STORE_PROBE_SECONDS = envfloat("FEATURE_STORE_PROBE_SECONDS", 1.0)
# Read timeout of the connections that block on purpose: the channel layer's (WebSocket
# consumers pop for 5 s) and Celery's (BRPOP for 1 s). It must exceed those waits.
REDIS_BLOCKING_TIMEOUT_SECONDS = envfloat("REDIS_BLOCKING_TIMEOUT_SECONDS", 10.0)
if REDIS_URL:
    _redis_timeouts = {
        "socket_timeout": REDIS_TIMEOUT_SECONDS,
        "socket_connect_timeout": REDIS_TIMEOUT_SECONDS,
    }
    CACHES = {
        "default": {
            "BACKEND": "fraudops.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "OPTIONS": _redis_timeouts,
        }
    }
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {
                # A dict host passes these to redis-py's ConnectionPool.from_url.
                "hosts": [
                    {
                        "address": REDIS_URL,
                        "socket_connect_timeout": REDIS_TIMEOUT_SECONDS,
                        "socket_timeout": REDIS_BLOCKING_TIMEOUT_SECONDS,
                    }
                ],
                "prefix": "fraudops:channels",
            },
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
# Without a socket timeout a publish to a hung broker waits forever (kombu's default).
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "socket_timeout": REDIS_BLOCKING_TIMEOUT_SECONDS,
    "socket_connect_timeout": REDIS_TIMEOUT_SECONDS,
}
CELERY_TASK_ALWAYS_EAGER = not REDIS_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_TIMEZONE = "UTC"
# Shadow scoring (scoring/shadow.py): how often the backlog is drained, how many decisions a
# batch scores, and whether the embedded default (no broker, so no beat) does it on a thread
# of the server instead.
SHADOW_SCORE_SECONDS = envfloat("SHADOW_SCORE_SECONDS", 5.0)
SHADOW_SCORE_BATCH = envint("SHADOW_SCORE_BATCH", 500)
SHADOW_SCORE_IN_PROCESS = envbool("SHADOW_SCORE_IN_PROCESS", "1")
# With a broker (production): approvals are left to the Celery worker, which explains what is
# pending every APPROVALS_EXPLAIN_SECONDS in batches (scoring.decisions.
# decisions_explain_pending), so the API's processes spend none of their CPU on an approval's
# SHAP (a third of it with a 150-tree model). The embedded default (eager Celery, no beat)
# explains them on the server's thread.
EXPLAIN_APPROVALS_ON_WORKER = (not CELERY_TASK_ALWAYS_EAGER) and envbool(
    "EXPLAIN_APPROVALS_ON_WORKER", "1"
)
APPROVALS_EXPLAIN_SECONDS = envfloat("APPROVALS_EXPLAIN_SECONDS", 5.0)
# Without the worker's share, beat only sweeps what a server's thread lost, once a minute.
_EXPLAIN_PENDING_EVERY = APPROVALS_EXPLAIN_SECONDS if EXPLAIN_APPROVALS_ON_WORKER else 60.0
CELERY_BEAT_SCHEDULE = {
    # Publishes a new cold-feature generation once per COLD_FEATURES_PERIOD_SECONDS; checking
    # more often than that only makes a missed period catch up sooner.
    "cold-features": {
        "task": "scoring.tasks.cold_features_refresh_task",
        "schedule": envfloat("COLD_FEATURES_CHECK_SECONDS", 60.0),
    },
    "case-leases": {"task": "cases.tasks.case_leases_release_task", "schedule": 30.0},
    "drift": {"task": "scoring.tasks.drift_check_task", "schedule": 6 * 3600.0},
    # Queues a retrain when one is due (scoring.retraining.retrain_due), and measures the
    # challenger in shadow on what has been labelled so far.
    "retrain-check": {"task": "scoring.tasks.retrain_check_task", "schedule": 3600.0},
    "shadow-evaluate": {"task": "scoring.tasks.shadow_evaluate_task", "schedule": 3600.0},
    # With EXPLAIN_APPROVALS_ON_WORKER every approval is explained here; otherwise this sweeps
    # those a server's thread lost (a worker died), a minute old or more.
    "explain-pending-approvals": {
        "task": "scoring.tasks.decisions_explain_pending_task",
        "schedule": _EXPLAIN_PENDING_EVERY,
        "options": {"expires": _EXPLAIN_PENDING_EVERY},
    },
    # Scores the decisions a challenger in shadow has not scored yet (scoring/shadow.py). A
    # run not started within one period is dropped: the next one drains the same backlog.
    "shadow-scores": {
        "task": "scoring.tasks.shadow_scores_fill_task",
        "schedule": SHADOW_SCORE_SECONDS,
        "options": {"expires": SHADOW_SCORE_SECONDS},
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
# The page of the user's role (fraudops.views.start).
LOGIN_REDIRECT_URL = "/start"

# --- login lockouts (django-axes) ------------------------------------------------------------
# Axes checks before any password is hashed, so a locked-out flood costs a query, not a hash.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
# LOGIN_FAILURE_LIMIT wrong passwords for one username from one IP lock that pair out for
# LOGIN_LOCKOUT_MINUTES; a colleague on the same IP, or the same user elsewhere, still logs in.
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_FAILURE_LIMIT = envint("LOGIN_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = timedelta(minutes=envint("LOGIN_LOCKOUT_MINUTES", 15))
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_CLIENT_IP_CALLABLE = "fraudops.client_ip.client_ip"

# --- API keys -------------------------------------------------------------------------------
# API_KEY_FAILURE_LIMIT failed authentications from one client IP within
# API_KEY_FAILURE_WINDOW_SECONDS answer 429 (with Retry-After) until the window ends.
API_KEY_FAILURE_LIMIT = envint("API_KEY_FAILURE_LIMIT", 20)
API_KEY_FAILURE_WINDOW_SECONDS = envint("API_KEY_FAILURE_WINDOW_SECONDS", 60)

# --- /metrics -------------------------------------------------------------------------------
# Prometheus scrapes with `authorization: {credentials: <METRICS_TOKEN>}` (a Bearer token).
# Unset: /metrics answers 403, except with DEBUG on.
METRICS_TOKEN = os.getenv("METRICS_TOKEN", "")

# A decision request is small; anything bigger than this is refused with 413.
DATA_UPLOAD_MAX_MEMORY_SIZE = 64 * 1024

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["scoring.auth.ApiKeyAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "scoring.errors.api_exception_handler",
    # ASCII with \u escapes: an error that repeats a lone surrogate someone sent (an unknown
    # field's name, a refused choice) still renders instead of failing to encode (a 500).
    "UNICODE_JSON": False,
    "UNAUTHENTICATED_USER": None,
    "NUM_PROXIES": NUM_PROXIES,
}

SPECTACULAR_SETTINGS = {
    "TITLE": "FraudOps API",
    "DESCRIPTION": "Real-time fraud decisions, labels and their records.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "scoring.openapi.strict_request_bodies",
    ],
    # Enum components named after their field, not after a hash of their values.
    "ENUM_NAME_OVERRIDES": {
        "ChannelEnum": "scoring.models.Channel.choices",
        "BadRequestCodeEnum": "scoring.serializers.BAD_REQUEST_CODES",
    },
}

# How often a worker checks whether rules, lists or thresholds changed (seconds).
RULESET_REFRESH_SECONDS = envfloat("RULESET_REFRESH_SECONDS", 1.0)
# A policy draft is published only with a finished backtest of its current content.
BACKTEST_REQUIRED_TO_PUBLISH = envbool("BACKTEST_REQUIRED_TO_PUBLISH", "1")
# A backtest re-decides at most this many stored decisions (the newest of its window).
BACKTEST_MAX_DECISIONS = envint("BACKTEST_MAX_DECISIONS", 500_000)
# Mount the benchmark's floor endpoints (bench/decisions.py sets this on its own server only).
BENCH_FLOOR_ENDPOINTS = envbool("BENCH_FLOOR_ENDPOINTS", "0")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"client_errors": {"()": "fraudops.log_filters.NoTracebackForClientErrors"}},
    "handlers": {
        "console": {"class": "logging.StreamHandler", "filters": ["client_errors"]},
    },
    "root": {"handlers": ["console"], "level": os.getenv("LOG_LEVEL", "WARNING")},
}

# Where trained LightGBM model files are kept (a shared volume when several hosts serve).
MODEL_DIR = os.getenv("MODEL_DIR", str(BASE_DIR / "var" / "models"))
# How often a worker checks which model version is active (seconds).
MODEL_REFRESH_SECONDS = envfloat("MODEL_REFRESH_SECONDS", 2.0)
# Cold (batch) features are computed as of the start of each period of this length.
COLD_FEATURES_PERIOD_SECONDS = envfloat("COLD_FEATURES_PERIOD_SECONDS", 3600.0)
COLD_FEATURES_CHECK_SECONDS = envfloat("COLD_FEATURES_CHECK_SECONDS", 60.0)
# The embedded default (no Redis) refreshes them on a thread of the server instead of beat.
COLD_FEATURES_REFRESH_IN_PROCESS = envbool("COLD_FEATURES_REFRESH_IN_PROCESS", "1")
# How long a claimed case stays with its analyst without activity (minutes).
CASE_LEASE_MINUTES = envfloat("CASE_LEASE_MINUTES", 15.0)
# Explain approvals on a thread after the response (else inline, right after commit).
EXPLAIN_APPROVALS_IN_BACKGROUND = envbool("EXPLAIN_APPROVALS_IN_BACKGROUND", "1")
# How far in the past a transaction's occurred_at may be (back-filled history); further back
# is refused with 400. The future bound is fixed: 24 hours (clock skew, time zones).
DECISION_MAX_AGE_DAYS = envint("DECISION_MAX_AGE_DAYS", 730)
# A payment with no fraud label this many days after it occurred counts as legitimate (the
# chargeback window); an integrator may have its own (Integrator.label_maturity_days).
LABEL_MATURITY_DAYS = envint("LABEL_MATURITY_DAYS", 30)
# The per-rule performance page highlights a reviewing or declining rule whose precision on its
# labelled hits is below this share of fraud.
RULE_PRECISION_BAR = envfloat("RULE_PRECISION_BAR", 0.2)

# The learning loop (scoring/retraining.py). A challenger is trained on the matured decisions
# of the last RETRAIN_WINDOW_DAYS, every RETRAIN_EVERY_DAYS, or earlier once
# RETRAIN_MIN_NEW_LABELS labels arrived or (RETRAIN_ON_DRIFT) a drift check raised an alert.
RETRAIN_WINDOW_DAYS = envint("RETRAIN_WINDOW_DAYS", 180)
RETRAIN_EVERY_DAYS = envint("RETRAIN_EVERY_DAYS", 7)
RETRAIN_MIN_NEW_LABELS = envint("RETRAIN_MIN_NEW_LABELS", 500)
RETRAIN_ON_DRIFT = envbool("RETRAIN_ON_DRIFT", "0")
# Off by default: a person promotes. On, the challenger in shadow becomes champion once it beats
# the champion by AUTO_PROMOTE_MARGIN average precision on at least AUTO_PROMOTE_MIN_LABELLED
# labelled shadow decisions (some of them fraud), with a calibration error no more than
# AUTO_PROMOTE_CALIBRATION_SLACK above the champion's.
AUTO_PROMOTE = envbool("AUTO_PROMOTE", "0")
AUTO_PROMOTE_MARGIN = envfloat("AUTO_PROMOTE_MARGIN", 0.02)
AUTO_PROMOTE_MIN_LABELLED = envint("AUTO_PROMOTE_MIN_LABELLED", 1000)
AUTO_PROMOTE_CALIBRATION_SLACK = envfloat("AUTO_PROMOTE_CALIBRATION_SLACK", 0.01)
