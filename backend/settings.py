"""Linli settings, read from environment variables only.

Two ways to run (see README):
- embedded default (``LINLI_ENV`` unset or ``development``): SQLite in WAL mode, in-memory
  channel layer and cache, a Celery broker on the local file system. Nothing to install.
- production (``LINLI_ENV=production``): every variable in ``REQUIRED_IN_PRODUCTION`` must be
  set, or the process refuses to start.
Setting ``DATABASE_URL`` / ``REDIS_URL`` in development switches to PostgreSQL / Redis too
(that is how CI runs the suite).
"""

from datetime import timedelta
from pathlib import Path

import environ
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from backend.queues import ROUTES as QUEUE_ROUTES

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()

LINLI_ENV = env.str("LINLI_ENV", default="development")
if LINLI_ENV not in ("development", "production"):
    raise ImproperlyConfigured(
        f"LINLI_ENV must be 'development' or 'production', not {LINLI_ENV!r}"
    )
PRODUCTION = LINLI_ENV == "production"

REQUIRED_IN_PRODUCTION = ("SECRET_KEY", "DATABASE_URL", "REDIS_URL", "ALLOWED_HOSTS")
if PRODUCTION:
    missing = [name for name in REQUIRED_IN_PRODUCTION if not env.str(name, default="")]
    if missing:
        raise ImproperlyConfigured(
            "LINLI_ENV=production needs these environment variables: " + ", ".join(missing)
        )

# Local state of the embedded default: the SQLite file and the file-system Celery broker.
DATA_DIR = Path(env.str("LINLI_DATA_DIR", default=str(BASE_DIR / "var")))

SECRET_KEY = env.str(
    "SECRET_KEY",
    default="linli-development-only-not-a-secret-never-use-in-production-0123456789",
)
DEBUG = env.bool("DEBUG", default=not PRODUCTION)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
if PRODUCTION:
    if "*" in ALLOWED_HOSTS:
        raise ImproperlyConfigured("ALLOWED_HOSTS must name the hosts in production, not '*'")
    if SECRET_KEY.startswith("linli-development-only"):
        raise ImproperlyConfigured("SECRET_KEY is the development key; set a secret one")
# No CORS headers, on purpose: the API's clients are the mobile apps (no browser, no origin)
# and the admin site, served from the API's own origin. A browser page on another origin
# cannot read the API's answers, and the API never relies on cookies (bearer tokens only).

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "channels",
    "graphene_django",
    "django_filters",
    "django_celery_beat",
    "backend.accounts",
    "backend.regions",
    "backend.organizations",
    "backend.servicepoints",
    "backend.volunteers",
    "backend.activities",
    "backend.audit",
    "backend.enrollments",
    "backend.attendance",
    "backend.hours",
    "notifications",
    "backend.matching",
    "backend.residents",
    "backend.deliberation",
    "backend.campaigns",
    "backend.certificates",
    "backend.statistics",
    "backend.demo",
    "rules.apps.AutodiscoverRulesConfig",
]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 10},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

AUTHENTICATION_BACKENDS = [
    "rules.permissions.ObjectPermissionBackend",  # object rules: backend/*/rules.py
    "django.contrib.auth.backends.ModelBackend",
]

MIDDLEWARE = [
    "backend.ops.request_id.RequestIdMiddleware",
    # /healthz, /readyz and /metrics for probes and Prometheus, before the host check and the
    # HTTPS redirect (they come by the pod's address over plain HTTP).
    "backend.ops.endpoints.OperationsEndpointsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "backend.urls"
ASGI_APPLICATION = "backend.asgi.application"
AUTH_USER_MODEL = "accounts.User"

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
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------
DATABASES = {
    "default": env.db_url("DATABASE_URL", default=f"sqlite:///{DATA_DIR / 'linli.sqlite3'}"),
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    Path(DATABASES["default"]["NAME"]).parent.mkdir(parents=True, exist_ok=True)
    # WAL lets the API server, the Celery worker and beat read while one of them writes;
    # IMMEDIATE transactions take the write lock up front, so concurrent writers wait
    # (up to ``timeout`` seconds) instead of failing with "database is locked".
    DATABASES["default"]["OPTIONS"] = {
        "init_command": (
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;"
        ),
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }
elif env.bool("LINLI_DATABASE_POOL", default=False):
    # Set by backend/asgi.py. Under ASGI each request runs in a fresh thread and would open a
    # new connection (several ms each); psycopg's pool keeps connections open instead.
    # Workers and commands keep plain persistent connections: a pool does not survive fork.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    # Django's backend, with a pool that checks each connection it hands out and replaces
    # them all when PostgreSQL restarted (backend/core/postgresql/base.py).
    DATABASES["default"]["ENGINE"] = "backend.core.postgresql"
    DATABASES["default"]["OPTIONS"] = {
        "pool": {
            "min_size": env.int("DATABASE_POOL_MIN_SIZE", default=2),
            "max_size": env.int("DATABASE_POOL_MAX_SIZE", default=10),
            "timeout": env.float("DATABASE_POOL_TIMEOUT", default=10.0),
        }
    }
else:
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Sign-in ----------------------------------------------------------------------------------
ACCESS_TOKEN_SIGNING_KEY = env.str("ACCESS_TOKEN_SIGNING_KEY", default=SECRET_KEY)
ACCESS_TOKEN_LIFETIME = timedelta(minutes=env.int("ACCESS_TOKEN_MINUTES", default=15))
REFRESH_TOKEN_LIFETIME = timedelta(days=env.int("REFRESH_TOKEN_DAYS", default=30))
LOGIN_CODE_LIFETIME = timedelta(minutes=env.int("LOGIN_CODE_MINUTES", default=5))
LOGIN_CODE_MAX_ATTEMPTS = 5  # wrong codes before a code is dead
LOGIN_LOCKOUT_FAILURES = 10  # wrong codes for one phone within the window: locked out
LOGIN_LOCKOUT_WINDOW = timedelta(minutes=30)
# "<calls>/<seconds>" fixed windows; see backend/accounts/ratelimit.py
LOGIN_CODE_RATE_PER_PHONE = env.str("LOGIN_CODE_RATE_PER_PHONE", default="1/60,5/3600")
LOGIN_CODE_RATE_PER_IP = env.str("LOGIN_CODE_RATE_PER_IP", default="20/3600")
LOGIN_RATE_PER_IP = env.str("LOGIN_RATE_PER_IP", default="30/600")
SMS_BACKEND = env.str("SMS_BACKEND", default="backend.accounts.sms.ConsoleSmsBackend")
PHONE_DEFAULT_REGION = "CN"  # numbers without +country code are mainland numbers

# --- Files the API produces (ledger exports, certificates: backend/core/downloads.py) -------
DOWNLOAD_LINK_SECONDS = env.int("DOWNLOAD_LINK_SECONDS", default=600)
# Public checks of certificate codes per client address: "<calls>/<seconds>" windows.
CERTIFICATE_CHECK_RATE_PER_IP = env.str("CERTIFICATE_CHECK_RATE_PER_IP", default="30/600")

# --- Redis: cache, channel layer, Celery broker ------------------------------------------------
REDIS_URL = env.str("REDIS_URL", default="")

if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "linli",
        }
    }
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            # channels-redis waits up to 5 s in BZPOPMIN for each receive; redis-py 8 gives
            # up reading after 5 s by default, which would close idle sockets with 1011. Its
            # pool also refuses a 101st connection, which a reconnect storm (every phone
            # after a deploy) would exceed.
            "CONFIG": {
                "hosts": [{"address": REDIS_URL, "socket_timeout": 15, "max_connections": 10_000}],
                "prefix": "linli",
            },
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

# --- Celery ----------------------------------------------------------------------------------
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=REDIS_URL or "filesystem://")
CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, object] = {}
if CELERY_BROKER_URL == "filesystem://":
    # The embedded broker: messages are files in one folder shared by the server, the
    # worker and beat. No service to install; enough for a single community.
    _broker_dir = DATA_DIR / "celery-broker"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir),
        "data_folder_out": str(_broker_dir),
        "control_folder": str(DATA_DIR / "celery-control"),
        "polling_interval": 0.5,
    }
elif CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        # A task taken by a worker that died without acknowledging it (acks_late) goes back
        # to its queue after this many seconds. It must exceed the longest run (time limits in
        # backend/task_options.py) plus the longest retry countdown, or a task still running
        # would be delivered a second time; the periodic sweeps cover the wait meanwhile.
        "visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=3600),
        # kombu passes no time-outs to redis-py by default: a Redis that stops answering
        # would hold a request's after-commit publish for ever. backend/core/after_commit.py
        # leaves the task to its sweep when this fails.
        "socket_connect_timeout": 2,
        "socket_timeout": 5,
    }
CELERY_TASK_IGNORE_RESULT = True
# No result backend, so nothing to clean up: without this, beat would add a daily
# "celery.backend_cleanup" entry of its own, outside CELERY_BEAT_SCHEDULE.
CELERY_RESULT_EXPIRES = None
# Queues are listed in backend/queues.py; tasks name theirs. Workers consume all of them in
# the embedded default (deploy/Procfile.embedded).
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_ROUTES = QUEUE_ROUTES
CELERY_TIMEZONE = "UTC"
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_WORKER_HIJACK_ROOT_LOGGER = False

# --- Push notifications (notifications/transports.py) ---------------------------------------
# "local" writes pushes to the log (embedded default); "fcm" sends through firebase-admin.
FCM_CREDENTIALS_FILE = env.str("FCM_CREDENTIALS_FILE", default="")
FCM_CREDENTIALS_JSON = env.str("FCM_CREDENTIALS_JSON", default="")
FCM_PROJECT_ID = env.str("FCM_PROJECT_ID", default="")
# Another server speaking the FCM v1 API (the local stub: python -m notifications.stub_server).
FCM_ENDPOINT = env.str("FCM_ENDPOINT", default="")
PUSH_TRANSPORT = env.str(
    "PUSH_TRANSPORT",
    default="fcm" if (FCM_CREDENTIALS_FILE or FCM_CREDENTIALS_JSON) else "local",
)
if PUSH_TRANSPORT not in ("local", "fcm"):
    raise ImproperlyConfigured(f"PUSH_TRANSPORT must be 'local' or 'fcm', not {PUSH_TRANSPORT!r}")
if PUSH_TRANSPORT == "fcm" and not (FCM_CREDENTIALS_FILE or FCM_CREDENTIALS_JSON):
    raise ImproperlyConfigured(
        "PUSH_TRANSPORT=fcm needs FCM_CREDENTIALS_FILE or FCM_CREDENTIALS_JSON"
    )
# How long inbox rows and settled delivery records are kept (notifications/retention.py).
NOTIFICATION_RETENTION_DAYS = env.int("NOTIFICATION_RETENTION_DAYS", default=365)
DELIVERY_RETENTION_DAYS = env.int("DELIVERY_RETENTION_DAYS", default=30)
# Coordinators' notices: "<calls>/<seconds>" windows per sender (backend/accounts/ratelimit.py).
BROADCAST_RATE_PER_SENDER = env.str("BROADCAST_RATE_PER_SENDER", default="5/3600,20/86400")

# --- Matching: invitations in waves (backend/matching/invitations.py) ------------------------
# How long an invitation waits for an answer (at most half the time left before its shift).
MATCHING_INVITATION_HOURS = env.float("MATCHING_INVITATION_HOURS", default=12.0)
# Coordinators hear of a shift still short this many hours before it starts (once per shift).
# Invitations go out for shifts starting within this many days (later ones wait their turn).
MATCHING_HORIZON_DAYS = env.float("MATCHING_HORIZON_DAYS", default=14.0)
MATCHING_SHORT_ALERT_HOURS = env.float("MATCHING_SHORT_ALERT_HOURS", default=24.0)

# Reminders before each confirmed shift, in whole hours before it starts; empty: none
# (backend/enrollments/reminders.py).
_reminder_hours = env.list("SHIFT_REMINDER_HOURS", default=["24", "2"])
if not all(value.strip().isdigit() and 1 <= int(value) <= 7 * 24 for value in _reminder_hours):
    raise ImproperlyConfigured(
        "SHIFT_REMINDER_HOURS must be whole hours from 1 to 168, comma-separated (e.g. 24,2)"
    )
SHIFT_REMINDER_HOURS = sorted({int(value) for value in _reminder_hours}, reverse=True)

# --- Internationalization and time -----------------------------------------------------------
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", _("Simplified Chinese")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "backend" / "locale"]
USE_I18N = True
USE_TZ = True
# Stored in UTC; shown in the community's zone. Activities carry their own time zone.
TIME_ZONE = "Asia/Shanghai"

# --- Static files ----------------------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = Path(env.str("STATIC_ROOT", default=str(DATA_DIR / "static")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if PRODUCTION
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}
WHITENOISE_USE_FINDERS = not PRODUCTION
if not PRODUCTION:
    # In production collectstatic fills STATIC_ROOT; locally, files come from the finders.
    STATIC_ROOT.mkdir(parents=True, exist_ok=True)

# --- GraphQL ---------------------------------------------------------------------------------
# Service-point imports arrive base64-encoded in a mutation: up to 10 MB of file, so the
# request body may be about 14 MB. Everything else is far smaller.
DATA_UPLOAD_MAX_MEMORY_SIZE = 15 * 1024 * 1024
GRAPHQL_MAX_PAGE_SIZE = 100  # `first` / `last` of every connection
GRAPHENE = {
    "SCHEMA": "schema.api.schema",
    "RELAY_CONNECTION_MAX_LIMIT": GRAPHQL_MAX_PAGE_SIZE,
    # No per-field middleware: graphene-django's debug middleware (on by default with DEBUG)
    # wraps every field resolution and roughly doubles the cost of a list page.
    "MIDDLEWARE": [],
}
# Queries deeper or costlier than this are rejected before they run (see schema/core/limits.py).
GRAPHQL_MAX_DEPTH = env.int("GRAPHQL_MAX_DEPTH", default=10)
GRAPHQL_MAX_COST = env.int("GRAPHQL_MAX_COST", default=100_000)
GRAPHIQL_ENABLED = env.bool("GRAPHIQL_ENABLED", default=DEBUG and not PRODUCTION)
# Clients generate code from schema/schema.graphql; production does not answer introspection.
GRAPHQL_INTROSPECTION = env.bool("GRAPHQL_INTROSPECTION", default=not PRODUCTION)

# GraphQL over WebSocket (schema/realtime/consumer.py). Limits per socket; times in seconds.
GRAPHQL_WS_INIT_TIMEOUT = 10  # connection_init must arrive within this (else 4408)
GRAPHQL_WS_MAX_OPERATIONS = 25  # operations running at once on one socket
GRAPHQL_WS_MAX_MESSAGE_CHARS = 128 * 1024  # one incoming message (else 1009)
GRAPHQL_WS_EVENT_QUEUE = 100  # events waiting per subscription (else 1013: reconnect)
GRAPHQL_WS_PING_INTERVAL = 20
GRAPHQL_WS_PONG_TIMEOUT = 20  # an unanswered ping closes the socket (1013)
GRAPHQL_WS_MAX_UNCONFIRMED_BYTES = 1024 * 1024  # sent but not yet confirmed by a pong
# Inboxes open over WebSocket are also re-read this often (seconds) where live events cannot
# cross processes (the in-memory layer); 0 = only on events.
GRAPHQL_WS_INBOX_POLL_SECONDS = 0 if REDIS_URL else 10
# Threads that run WebSocket operations' resolvers, per API process.
GRAPHQL_WS_THREADS = env.int("GRAPHQL_WS_THREADS", default=8)

# --- Security in production (``linli check --deploy`` finds nothing to warn about) ----------
if PRODUCTION:
    # TLS ends at the load balancer, which says so in X-Forwarded-Proto.
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    # HSTS: browsers (the admin's) keep to HTTPS for this long; 0 turns it off.
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=365 * 24 * 3600)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
    SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True

# --- Operations: probes, metrics, logs (backend/ops/) -----------------------------------------
# A Celery worker serves its Prometheus metrics on this port when set (API processes serve
# theirs at /metrics); with the prefork pool it also needs PROMETHEUS_MULTIPROC_DIR.
METRICS_PORT = env.int("METRICS_PORT", default=None)
# When set, /metrics answers only requests with "Authorization: Bearer <METRICS_TOKEN>".
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")
# One JSON object per line (for log collectors) in production, readable lines otherwise.
LOG_FORMAT = env.str("LOG_FORMAT", default="json" if PRODUCTION else "text")
if LOG_FORMAT not in ("json", "text"):
    raise ImproperlyConfigured(f"LOG_FORMAT must be 'json' or 'text', not {LOG_FORMAT!r}")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "backend.ops.request_id.RequestIdFilter"}},
    "formatters": {
        "json": {"()": "backend.ops.json_logs.JsonFormatter"},
        "text": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "filters": ["request_id"],
            "formatter": LOG_FORMAT,
        }
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
}

# Periodic work. DatabaseScheduler copies these entries into django-celery-beat's tables,
# where operators can see and change them in the admin.
_COMPLETE_ACTIVITIES_EVERY = env.float("COMPLETE_ACTIVITIES_EVERY_SECONDS", default=60.0)
CELERY_BEAT_SCHEDULE = {
    "push-due-notifications": {
        # Held pushes whose quiet hours ended, retries that came due, a dead worker's batch.
        "task": "notifications.push_due",
        "schedule": 60.0,
        "options": {"expire_seconds": 55.0},
    },
    "resume-broadcasts": {
        # Notices whose fan-out never reached a worker (the broker was down when they were
        # sent, or lost its queues) or whose worker died mid-way.
        "task": "notifications.resume_broadcasts",
        "schedule": 60.0,
        "options": {"expire_seconds": 55.0},
    },
    "generate-series-occurrences": {
        "task": "activities.generate_series_occurrences",
        "schedule": 3600.0,
        "options": {"expire_seconds": 3000},
    },
    "prune-notifications": {
        "task": "notifications.prune",
        "schedule": 86400.0,
        "options": {"expire_seconds": 3600.0},
    },
    "close-forgotten-check-outs": {
        "task": "attendance.close_forgotten_check_outs",
        "schedule": 300.0,
        "options": {"expire_seconds": 270.0},
    },
    "complete-finished-activities": {
        "task": "activities.complete_finished_activities",
        "schedule": _COMPLETE_ACTIVITIES_EVERY,
        # A run that waited longer than its period is superseded by the next one
        # (django-celery-beat stores this as the periodic task's expire_seconds).
        "options": {"expire_seconds": _COMPLETE_ACTIVITIES_EVERY * 0.9},
    },
    "send-shift-reminders": {
        # SHIFT_REMINDER_HOURS before each confirmed shift (backend/enrollments/reminders.py).
        "task": "enrollments.send_shift_reminders",
        "schedule": 300.0,
        "options": {"expire_seconds": 270.0},
    },
    "count-closed-votes": {
        # Deliberation votes whose window closed: counted once, the outcome published
        # (backend/deliberation/voting.py). Counting on read covers the minute in between.
        "task": "deliberation.count_closed_votes",
        "schedule": 60.0,
        "options": {"expire_seconds": 55.0},
    },
    "mark-no-shows": {
        "task": "attendance.mark_no_shows",
        "schedule": 900.0,
        "options": {"expire_seconds": 840.0},
    },
    "send-coordinator-digests": {
        # Mondays 08:00 in Asia/Shanghai (00:00 UTC; beat runs in UTC, China keeps no DST).
        # Once per person and ISO week, so a late run the same day sends it still.
        "task": "notifications.send_coordinator_digests",
        "schedule": crontab(minute="0", hour="0", day_of_week="1"),
        "options": {"expire_seconds": 12 * 3600},
    },
    "send-invitation-waves": {
        # Expire overdue invitations, send the next wave where a shift is still short.
        "task": "matching.send_next_waves",
        "schedule": 300.0,
        "options": {"expire_seconds": 270.0},
    },
    "alert-short-shifts": {
        "task": "matching.alert_short_shifts",
        "schedule": 900.0,
        "options": {"expire_seconds": 840.0},
    },
}
