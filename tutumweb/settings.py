"""Settings for tutumweb, read from environment variables with safe local defaults.

Every variable is documented in README.md ("Configuration").
"""

from __future__ import annotations

import os
import sys
import tempfile
from datetime import timedelta
from pathlib import Path

import dj_database_url
import dj_email_url
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

from lib.storage_url import StorageUrlError, parse_storage_url

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("DEBUG", False)
# Under pytest the suite gets a throwaway data directory and its own secret key.
TESTING = "pytest" in sys.modules

# The development key only works with DEBUG on or in the tutumweb runner (`make run`), which
# generates a per-installation key in the data directory and passes it in SECRET_KEY.
_INSECURE_KEY = "insecure-development-key-do-not-use-in-production"
SECRET_KEY = os.environ.get("SECRET_KEY", _INSECURE_KEY)
if SECRET_KEY == _INSECURE_KEY and not DEBUG and not TESTING:
    raise ImproperlyConfigured(
        "SECRET_KEY is not set. Set SECRET_KEY to a long random value, or DEBUG=1 for local use."
    )

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost,[::1]")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

_default_data_dir = tempfile.mkdtemp(prefix="tutumweb-test-") if TESTING else BASE_DIR / "var"
DATA_DIR = Path(os.environ.get("DATA_DIR", _default_data_dir)).resolve()

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "django_tasks",
    "django_tasks_db",
    "axes",
    "tutumweb",
    "records",
    "registry",
    "builds",
    "webhooks",
    "images",
]

MIDDLEWARE = [
    # First, so the time it measures includes every other middleware's (tutumweb/metrics.py).
    "tutumweb.metrics.measure_requests",
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "tutumweb.urls"

# Content-Security-Policy (django-csp): the pages load only their own scripts, styles and
# images (no inline script or style anywhere), post only to themselves and are never framed,
# so an injection that slipped past escaping still could not run.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "object-src": [NONE],
        "base-uri": [NONE],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}

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

WSGI_APPLICATION = "tutumweb.wsgi.application"

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", f"sqlite:///{DATA_DIR / 'db.sqlite3'}"),
        conn_max_age=int(os.environ.get("DATABASE_CONN_MAX_AGE", "60")),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the registry's notifications write while the API reads; the busy timeout makes
    # concurrent writers wait instead of failing with "database is locked".
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    # A file, not Django's shared-cache in-memory database: the live API server's threads
    # write concurrently (registry notifications), and shared-cache SQLite fails such writes
    # with "table is locked" instead of waiting.
    DATABASES["default"]["TEST"] = {"NAME": str(DATA_DIR / "test.sqlite3")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
    {"NAME": "accounts.passwords.NotShapedLikeAnApiKey"},
]

# Password sign-ins (/api/v1/auth/, the admin's login, `docker login` with a password) pause
# for a username after LOGIN_FAILURE_LIMIT wrong passwords from one address within
# LOGIN_LOCKOUT_MINUTES; API keys keep working. django-axes counts them in the database, so
# every process sees the same count. The address is the connection's (a forwarded-for header
# would let a guesser pick a fresh one each try), or the browser's for a sign-in through our
# admin, which vouches for it (tutumweb/client_address.py).
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = int(os.environ.get("LOGIN_FAILURE_LIMIT", "10"))
AXES_COOLOFF_TIME = timedelta(minutes=float(os.environ.get("LOGIN_LOCKOUT_MINUTES", "15")))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_CLIENT_IP_CALLABLE = "lib.client_address.client_address"
# How many load balancers of ours stand in front of the API and admin servers (each appends
# to X-Forwarded-For): the address counted is the one the outermost saw. 0: the connection's.
TRUSTED_PROXY_HOPS = int(os.environ.get("TRUSTED_PROXY_HOPS", "0"))
# Tries while paused are refused unchecked and do not extend the pause.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
# Successful sign-ins are not logged: `docker pull` with a password signs in on every pull.
AXES_DISABLE_ACCESS_LOG = True
AXES_LOCKOUT_CALLABLE = "tutumweb.lockout.lockout_response"
AXES_VERBOSE = False  # no banner on every manage.py command; failures are still logged

if TESTING:
    # Hashing at full strength costs a second per test account; the suite doesn't test PBKDF2.
    PASSWORD_HASHERS = [
        "django.contrib.auth.hashers.MD5PasswordHasher",
        "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    ]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
# The admin and the API speak English only: with no translations to look up, rendering a page
# skips a language lookup per variable (a quarter of the image list's template time).
USE_I18N = False
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = DATA_DIR / "static"
STATICFILES_DIRS = [BASE_DIR / "static"]
WHITENOISE_USE_FINDERS = DEBUG or TESTING
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

# Without REDIS_URL, each process caches for itself and what processes must share (rate-limit
# counts, the shared cache, sessions) is in the database; with it, Redis holds all of that
# but "kept" (see below).
CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
    # Correct password checks, remembered in this process only (accounts/credentials.py).
    "password-checks": {
        "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
        "LOCATION": "password-checks",
        "OPTIONS": {"MAX_ENTRIES": 10_000},
    },
    # What an image's tags make (its tag URIs, its storage), kept by each API process for
    # images with many tags, keyed by their changes counter (api/images/kept.py): an entry
    # can be as large as the image's tag list (6 MB for 100,000 tags), hence few of them.
    "kept": {
        "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
        "LOCATION": "kept",
        "TIMEOUT": None,
        "OPTIONS": {"MAX_ENTRIES": 100},
    },
    # Counts behind the API's rate limits (reset emails, sign-ups, invitations accepted):
    # in the database, so every API worker and machine counts together.
    "rate-limits": {
        "BACKEND": "django.core.cache.backends.db.DatabaseCache",
        "LOCATION": "tutumweb_rate_limits",
    },
    # What every API process shares: the storage of images with many tags, worked out once
    # per change (api/images/kept.py). In the database, so every API worker and machine
    # finds it.
    "shared": {
        "BACKEND": "django.core.cache.backends.db.DatabaseCache",
        "LOCATION": "tutumweb_shared",
        "OPTIONS": {"MAX_ENTRIES": 10_000},
    },
}
# A password reset link (made by staff or emailed) works once, for this long.
PASSWORD_RESET_TIMEOUT = int(float(os.environ.get("RESET_LINK_HOURS", "24")) * 3600)
# An invitation link works once, for this many days.
INVITE_DAYS = int(os.environ.get("INVITE_DAYS", "7"))
# How long the audit trail keeps an event; housekeeping deletes older ones.
AUDIT_DAYS = int(os.environ.get("AUDIT_DAYS", "400"))
# Deleted tags and images stay restorable this long (lifecycle.bin), then housekeeping purges
# them and garbage collection frees their storage.
RECYCLE_DAYS = int(os.environ.get("RECYCLE_DAYS", "14"))
# Anyone who can reach the admin may make themselves an account (off: only by invitation).
ALLOW_SIGNUP = env_bool("ALLOW_SIGNUP", False)
# Email, from one URL (dj-email-url), e.g. submission://user:password@smtp.example.com or
# smtp://127.0.0.1:25; without it nothing is emailed and people ask staff for their links.
EMAIL_URL = os.environ.get("EMAIL_URL", "")
EMAIL_ENABLED = bool(EMAIL_URL)
DEFAULT_FROM_EMAIL = os.environ.get("EMAIL_FROM", "tutumweb <tutumweb@localhost>")
if EMAIL_ENABLED:
    globals().update(dj_email_url.parse(EMAIL_URL))
# A mail server that does not answer must not hold a request for long (Django's default
# is to wait forever); the URL's ?timeout= overrides it.
EMAIL_TIMEOUT = globals().get("EMAIL_TIMEOUT") or 10
# What this installation is called in emails.
SITE_NAME = os.environ.get("SITE_NAME", "tutumweb")
# The admin's address as people reach it: the links in emails start with it. Never taken
# from a request's Host header, which would let anyone have a reset link sent elsewhere.
ADMIN_PUBLIC_URL = os.environ.get("ADMIN_PUBLIC_URL", "http://127.0.0.1:8001").rstrip("/")
# How often one address may ask for a reset email or an account (per hour), and how many
# reset emails one mailbox gets per hour whoever asks.
ACCOUNT_REQUESTS_PER_HOUR = int(os.environ.get("ACCOUNT_REQUESTS_PER_HOUR", "20"))
RESET_EMAILS_PER_HOUR = int(os.environ.get("RESET_EMAILS_PER_HOUR", "3"))
# Tutum's CLI sends the password on every call after `tutum login`; a correct check is
# remembered this long so it costs PBKDF2 once, not per request. 0 checks every time.
PASSWORD_CHECK_CACHE_SECONDS = int(os.environ.get("PASSWORD_CHECK_CACHE_SECONDS", "300"))
# Redis, shared by every API and admin process on every machine: redis://[:password@]host:6379/0
# or rediss:// (TLS). Each cache alias keeps its keys under a prefix of its own. A Redis that
# does not answer within REDIS_TIMEOUT seconds is a cache miss (tutumweb/caches.py), so the
# pages go on without it; only the rate-limited requests are refused (503) while it is down.
REDIS_URL = os.environ.get("REDIS_URL", "")
REDIS_TIMEOUT = float(os.environ.get("REDIS_TIMEOUT", "0.5"))
if REDIS_URL and REDIS_URL.split("://", 1)[0] not in {"redis", "rediss", "unix"}:
    raise ImproperlyConfigured("REDIS_URL must start with redis://, rediss:// or unix://.")


def redis_caches(url: str) -> dict:
    """The caches that live in Redis at `url`, by alias ("kept" stays in each process: its
    entries are megabytes, and nothing needs them shared to be right)."""

    def cache(alias: str, **options) -> dict:
        return {
            "BACKEND": "tutumweb.caches.RedisCache",
            "LOCATION": url,
            # Never another alias's key, nor another application's in the same database.
            "KEY_PREFIX": f"tutumweb:{alias}",
            "OPTIONS": {
                "socket_connect_timeout": REDIS_TIMEOUT,
                "socket_timeout": REDIS_TIMEOUT,
                **options,
            },
        }

    return {
        "default": cache("default"),
        "sessions": cache("sessions"),
        "password-checks": cache("password-checks"),
        # Uncounted requests are what the limits are there to stop: refused while Redis is down.
        "rate-limits": cache("rate-limits", REFUSE_WHEN_DOWN=True),
        "shared": cache("shared"),
    }


# Sessions live in the database (they hold the user's API key, encrypted, never in a cookie):
# the row is the truth, so signing out in one process ends the session in all of them. With
# Redis they are read through it (no session query per page; a Redis restart signs nobody
# out). Without it, one query a page: a cache in the database would save 0.4 ms of a read
# and double every write (docs/operations.md, "Running at scale").
if REDIS_URL:
    CACHES.update(redis_caches(REDIS_URL))
    SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
    SESSION_CACHE_ALIAS = "sessions"
else:
    SESSION_ENGINE = "django.contrib.sessions.backends.db"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", False)
# Behind a TLS-terminating proxy that sets X-Forwarded-Proto (and strips it from clients):
# without this, Django sees http and refuses the browser's https Origin on every form.
if env_bool("TRUST_X_FORWARDED_PROTO", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# Only once the whole site is served over HTTPS: browsers then refuse plain HTTP for it.
SECURE_HSTS_SECONDS = int(os.environ.get("HSTS_SECONDS", "0"))
# The CSRF secret lives in that server-side session: no csrftoken cookie re-sent (and parsed
# by the browser) with every page, and signing in rotates it with the session key.
CSRF_USE_SESSIONS = True
CSRF_FAILURE_VIEW = "images.views.accounts.csrf_failure"

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["api.core.auth.TutumAuthentication"],
    # Team access tokens reach only the views marked @token_allowed (api.core.permissions).
    "DEFAULT_PERMISSION_CLASSES": [
        "rest_framework.permissions.IsAuthenticated",
        "api.core.permissions.TeamTokensWhereAllowed",
    ],
    "DEFAULT_RENDERER_CLASSES": ["api.core.rendering.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["api.core.negotiation.LimitedJSONParser"],
    # go-tutum sends JSON bodies with no Content-Type at all.
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": "api.core.negotiation.JsonWhateverTheContentType",
    "EXCEPTION_HANDLER": "api.core.errors.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "UNAUTHENTICATED_USER": None,
}

SPECTACULAR_SETTINGS = {
    "TITLE": "tutumweb: Tutum-compatible Images API",
    "DESCRIPTION": "The historical Tutum Images and Image Tags API, served over a real registry.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SERVE_AUTHENTICATION": [],
    "COMPONENT_SPLIT_REQUEST": True,
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "api.core.schema.document_token_refusals",
    ],
    # /api/docs/: Swagger UI from our own static files, and no validator badge (it would send
    # the schema's URL to validator.swagger.io).
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "SWAGGER_UI_SETTINGS": {"deepLinking": True, "validatorUrl": None},
    # Tags and builds both have a `state`, with different choices.
    "ENUM_NAME_OVERRIDES": {
        "TagStateEnum": ["Empty", "Building", "Success", "Failed"],
        "BuildStateEnum": ["Queued", "Building", "Success", "Failed", "Cancelled"],
        "DeliveryStateEnum": ["pending", "delivered", "failed"],
    },
}

# Secrets stored in the database (registry passwords, API keys) are encrypted with this key.
# Defaults to one derived from SECRET_KEY; set it separately to rotate SECRET_KEY independently.
ENCRYPTION_KEY = os.environ.get("ENCRYPTION_KEY", "")

# Our own registry: the URL the API uses to reach it and the host part image names carry.
REGISTRY_URL = os.environ.get("REGISTRY_URL", "http://127.0.0.1:5000").rstrip("/")
REGISTRY_HOST = os.environ.get("REGISTRY_HOST", "127.0.0.1:5000")
# Where this machine's registry listens (written into its config by setup_instance): behind a
# load balancer, this node's own address; empty: REGISTRY_URL's (one machine).
REGISTRY_BIND = os.environ.get("REGISTRY_BIND", "")
REGISTRY_TOKEN_SERVICE = os.environ.get("REGISTRY_TOKEN_SERVICE", "tutumweb-registry")
REGISTRY_TOKEN_ISSUER = os.environ.get("REGISTRY_TOKEN_ISSUER", "tutumweb")
REGISTRY_TOKEN_TTL = int(os.environ.get("REGISTRY_TOKEN_TTL", "300"))
REGISTRY_TOKEN_KEY = Path(
    os.environ.get("REGISTRY_TOKEN_KEY", DATA_DIR / "registry" / "token.key")
).resolve()
REGISTRY_NOTIFICATION_SECRET = os.environ.get("REGISTRY_NOTIFICATION_SECRET", "")
REGISTRY_TIMEOUT = float(os.environ.get("REGISTRY_TIMEOUT", "10"))
# The registry's config file: `make run` writes it and starts the registry with it; garbage
# collection (lifecycle.collect) runs on it and finds the storage directory in it.
REGISTRY_CONFIG = Path(
    os.environ.get("REGISTRY_CONFIG", DATA_DIR / "registry" / "config.yml")
).resolve()
# Where our registry stores images (lib/storage_url.py): S3-compatible object storage, another
# directory, or (None) DATA_DIR/registry/storage. `setup_instance` writes it into REGISTRY_CONFIG.
try:
    REGISTRY_STORAGE = parse_storage_url(os.environ.get("REGISTRY_STORAGE_URL", ""))
except StorageUrlError as error:
    raise ImproperlyConfigured(f"REGISTRY_STORAGE_URL {error}.") from None
# Housekeeping collects the registry's garbage after purging the recycle bin, and at least
# this often (0: only after a purge).
GC_EVERY_HOURS = float(os.environ.get("GC_EVERY_HOURS", "24"))
# A blob written less than this long ago is never collected: an upload's manifest may still be
# on its way (lifecycle.collect).
GC_GRACE_MINUTES = float(os.environ.get("GC_GRACE_MINUTES", "60"))
# How long a collection waits, once it has set blobs aside, for manifests whose check of those
# blobs passed just before to be written, before it looks for them.
GC_SETTLE_SECONDS = float(os.environ.get("GC_SETTLE_SECONDS", "30"))
# The CPU priority a collection runs at (a `nice` value, 0 to 19; 0: the same as everything
# else): pushes and pages come first (bench/gc.py).
GC_NICENESS = int(os.environ.get("GC_NICENESS", "10"))
# Where public names without a host (`ubuntu`, `tutum/hello-world`) are looked up.
PUBLIC_REGISTRY_HOST = os.environ.get("PUBLIC_REGISTRY_HOST", "docker.io")
PUBLIC_REGISTRY_URL = os.environ.get("PUBLIC_REGISTRY_URL", "https://registry-1.docker.io").rstrip(
    "/"
)
# Registries reached over plain HTTP (host or host:port). Listing one also lets the server reach
# it when it is on loopback or a private network, which the outbound policy refuses otherwise.
INSECURE_REGISTRIES = env_list("INSECURE_REGISTRIES")
# Hosts (any port) or host:port the server may reach for its users although they resolve to
# loopback, link-local, private or our own services' addresses (lib/outbound.py): a registry
# on the company network, or a token service on another host that a registry names.
OUTBOUND_ALLOW = env_list("OUTBOUND_ALLOW")
# Webhooks: how long one attempt may take, how many deliveries in a row may fail for good
# before the webhook is paused, and how many deliveries a webhook worker sends at once.
WEBHOOK_TIMEOUT = float(os.environ.get("WEBHOOK_TIMEOUT", "10"))
WEBHOOK_PAUSE_AFTER = int(os.environ.get("WEBHOOK_PAUSE_AFTER", "5"))
WEBHOOK_WORKER_THREADS = int(os.environ.get("WEBHOOK_WORKER_THREADS", "4"))
# Each webhook's delivery log keeps this many days.
WEBHOOK_LOG_DAYS = int(os.environ.get("WEBHOOK_LOG_DAYS", "30"))

# The API's public base URL, used in the registry's token realm and notification endpoint.
API_PUBLIC_URL = os.environ.get("API_PUBLIC_URL", "http://127.0.0.1:8000").rstrip("/")

API_MAX_LIMIT = int(os.environ.get("API_MAX_LIMIT", "1000"))

# The web admin reaches the API only over HTTP, here (ours or any Tutum-compatible server).
TUTUM_API_URL = os.environ.get("TUTUM_API_URL", "http://127.0.0.1:8000").rstrip("/")
TUTUM_API_CONNECT_TIMEOUT = float(os.environ.get("TUTUM_API_CONNECT_TIMEOUT", "3"))
# A person gives up on a page long before 20 s: a hung API gets the friendly page in 5 s.
TUTUM_API_READ_TIMEOUT = float(os.environ.get("TUTUM_API_READ_TIMEOUT", "5"))
# Honour HTTP(S)_PROXY/NO_PROXY and ~/.netrc for the admin's calls to the API.
TUTUM_API_TRUST_ENV = env_bool("TUTUM_API_TRUST_ENV", False)
LOGIN_URL = "images:login"
SESSION_COOKIE_AGE = int(os.environ.get("SESSION_COOKIE_AGE", str(14 * 24 * 3600)))

# Builds run as background tasks in `manage.py build_worker` processes (django-tasks with its
# database backend: several workers share the queue, each task goes to exactly one of them).
# "storage": garbage collections staff ask for (lifecycle.tasks), which build workers take too.
TASKS = {
    "default": {
        "BACKEND": "django_tasks_db.DatabaseBackend",
        "QUEUES": ["builds", "storage", "webhooks"],
    }
}
# Where build sources live: `{GIT_BASE_URL}/{owner}/{repository}.git`.
GIT_BASE_URL = os.environ.get("GIT_BASE_URL", "https://github.com").rstrip("/")
# Clones, buildah's storage and build scratch space.
BUILD_DIR = Path(os.environ.get("BUILD_DIR", DATA_DIR / "builds")).resolve()
# A running build's worker reports every BUILD_HEARTBEAT seconds; a build not heard from for
# BUILD_LEASE seconds is failed ("the build worker stopped") so the tag can build again.
BUILD_HEARTBEAT = float(os.environ.get("BUILD_HEARTBEAT", "5"))
BUILD_LEASE = float(os.environ.get("BUILD_LEASE", "60"))
BUILD_TIMEOUT = float(os.environ.get("BUILD_TIMEOUT", "3600"))
# Base images stay in the worker's buildah storage between builds until it holds this much.
BUILD_CACHE_MAX_MB = int(os.environ.get("BUILD_CACHE_MAX_MB", "10240"))
GIT_TIMEOUT = float(os.environ.get("GIT_TIMEOUT", "120"))
# Saving a build setting clones its branch to check it and the Dockerfile path exist.
CHECK_BUILD_SETTINGS = env_bool("CHECK_BUILD_SETTINGS", not TESTING)
# The address shown for GitHub's push webhook (the API's public URL unless set).
WEBHOOK_PUBLIC_URL = os.environ.get("WEBHOOK_PUBLIC_URL", API_PUBLIC_URL).rstrip("/")

# Prometheus metrics at /metrics (tutumweb/metrics.py), answered only to
# `Authorization: Bearer <METRICS_TOKEN>`; unset, /metrics is a 404. A short token could be
# guessed by anyone who reaches the servers.
METRICS_TOKEN = os.environ.get("METRICS_TOKEN", "")
if METRICS_TOKEN and len(METRICS_TOKEN) < 32 and not DEBUG:
    raise ImproperlyConfigured(
        "METRICS_TOKEN is shorter than 32 characters. Use a long random value, e.g. the output "
        'of `python3 -c "import secrets; print(secrets.token_urlsafe(32))"`.'
    )
# Where each gunicorn server (tutumweb/gunicorn_conf.py) makes a directory of its own, for its
# workers' request measurements, which any of them sums when scraped; removed when it stops.
METRICS_DIR = Path(os.environ.get("METRICS_DIR", DATA_DIR / "metrics")).resolve()

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
