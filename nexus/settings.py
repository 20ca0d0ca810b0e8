"""Nexus settings: one module, read from the environment.

With nothing set (and DEBUG on) the server runs on SQLite, an in-memory
channel layer and a local-memory cache. DATABASE_URL and REDIS_URL switch
each to the real service. A malformed value stops start-up with
ImproperlyConfigured.
"""

import os
import re
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlparse

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}
_RATE = re.compile(r"^\d+/(s|sec|second|m|min|minute|h|hour|d|day)$")


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (true/false), got {raw!r}")


def env_int(name: str, default: int, *, minimum: int = 0) -> int:
    raw = os.environ.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be an integer, got {raw!r}") from None
    if value < minimum:
        raise ImproperlyConfigured(f"{name} must be >= {minimum}, got {value}")
    return value


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


def env_rate(name: str, default: str) -> str:
    value = os.environ.get(name, default).strip()
    if not _RATE.match(value):
        raise ImproperlyConfigured(
            f"{name} must be a DRF rate such as '120/min' or '10/s', got {value!r}"
        )
    return value


DEBUG = env_bool("DEBUG", False)

SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off")
    SECRET_KEY = "dev-only-insecure-secret-key-do-not-use-in-production"

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1],testserver")


def _public_url() -> str:
    """The address people are shown (QR codes, "vote at", invite links):
    scheme://host[:port] from NEXUS_PUBLIC_URL, never a request's Host
    header. Without it: the first host ALLOWED_HOSTS names; in development,
    the request's own (nexus.links)."""
    url = os.environ.get("NEXUS_PUBLIC_URL", "").strip().rstrip("/")
    if url:
        parts = urlparse(url)
        if parts.scheme not in ("http", "https") or not parts.hostname or parts.path:
            raise ImproperlyConfigured(
                f"NEXUS_PUBLIC_URL must be scheme://host[:port] with no path, "
                f"e.g. https://polls.example.org, got {url!r}"
            )
        return url
    if DEBUG:
        return ""
    host = next((h for h in ALLOWED_HOSTS if h != "*" and not h.startswith(".")), None)
    if "*" in ALLOWED_HOSTS or host is None:
        raise ImproperlyConfigured(
            "ALLOWED_HOSTS names no single host to put in links ('*' or only .wildcards): "
            "set NEXUS_PUBLIC_URL (e.g. https://polls.example.org), the address QR codes "
            "and links show"
        )
    return f"{'https' if env_bool('NEXUS_HTTPS', False) else 'http'}://{host}"


NEXUS_PUBLIC_URL = _public_url()
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", "")

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",  # intcomma: 1,234 / 1.234 / 1234 by the page's language
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "channels",
    "csp",
    "axes",
    "strawberry_django",
    "accounts",
    "polls",
    "realtime",
    "webhooks",
]

MIDDLEWARE = [
    "nexus.ops.RequestMetricsMiddleware",
    "nexus.limits.LimitsMiddleware",
    "nexus.middleware.AnonymousVoteMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "nexus.middleware.StaticFilesMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # The language: the switcher's cookie, else Accept-Language, else English.
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "nexus.urls"
ASGI_APPLICATION = "nexus.asgi.application"

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


# --- Database -------------------------------------------------------------


def _database(url: str) -> dict:
    try:
        config: dict = dict(dj_database_url.parse(url))
    except Exception as exc:  # dj-database-url raises several types
        raise ImproperlyConfigured(f"DATABASE_URL is malformed: {exc}") from None
    engine = config.get("ENGINE", "")
    if engine.endswith("sqlite3"):
        # IMMEDIATE takes the write lock at BEGIN, so concurrent writers wait
        # for `timeout` instead of failing with "database is locked" mid-vote.
        config["OPTIONS"] = {"transaction_mode": "IMMEDIATE", "timeout": 20}
    elif engine.endswith("postgresql"):
        config["ENGINE"] = "nexus.db.postgresql"  # fails fast in an outage (its docstring)
        # Under ASGI every request may run on a different thread, so
        # persistent connections do not get reused; psycopg's pool does
        # (docs/BENCHMARKS.md has the measurement).
        if env_bool("NEXUS_DB_POOL", True):
            config["CONN_MAX_AGE"] = 0
            # A pooled connection that died while idle (Postgres restarted)
            # is replaced before a request gets it (nexus.db.postgresql).
            config["CONN_HEALTH_CHECKS"] = True
            config["OPTIONS"] = {
                # A database that does not answer is a 503 in under two
                # seconds (nexus.errors), not a request hanging.
                "connect_timeout": 2,
                "pool": {
                    "min_size": env_int("NEXUS_DB_POOL_MIN", 2, minimum=1),
                    "max_size": env_int("NEXUS_DB_POOL_MAX", 10, minimum=1),
                    "timeout": env_int("NEXUS_DB_POOL_TIMEOUT_MS", 1500, minimum=1) / 1000,
                    # psycopg retries a failed connect with a back-off that
                    # doubles for up to 5 minutes, so votes resumed seconds
                    # after Postgres did; give up after 2 s instead, and the
                    # next request that needs a connection tries at once.
                    "reconnect_timeout": 2,
                },
            }
        else:
            config["CONN_MAX_AGE"] = env_int("NEXUS_DB_CONN_MAX_AGE", 60)
            config["CONN_HEALTH_CHECKS"] = True
    else:
        raise ImproperlyConfigured(f"DATABASE_URL must be postgres:// or sqlite://, got {url!r}")
    return config


DATABASE_URL = os.environ.get("DATABASE_URL") or f"sqlite:///{BASE_DIR / 'db.sqlite3'}"
DATABASES = {"default": _database(DATABASE_URL)}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"


# --- Redis: cache and channel layer ---------------------------------------

REDIS_URL = os.environ.get("REDIS_URL", "").strip()
if REDIS_URL:
    _redis = urlparse(REDIS_URL)
    if _redis.scheme not in {"redis", "rediss"} or not _redis.hostname:
        raise ImproperlyConfigured(
            f"REDIS_URL must look like redis://host:6379/0, got {REDIS_URL!r}"
        )
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "nexus",
            # Fail fast when Redis is away (throttles then fail open).
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        }
    }
    # polls/throttles.py: one INCR+EXPIRE script per limit and request.
    NEXUS_RATE_LIMITS = {
        "uri": REDIS_URL,
        "options": {"key_prefix": "nexus:limits", "socket_connect_timeout": 1, "socket_timeout": 1},
    }
    # docs/BENCHMARKS.md compares the two layers; pub/sub is the default.
    _layer = os.environ.get("NEXUS_CHANNEL_LAYER", "pubsub")
    _layers = {
        "pubsub": "channels_redis.pubsub.RedisPubSubChannelLayer",
        "classic": "channels_redis.core.RedisChannelLayer",
    }
    if _layer not in _layers:
        raise ImproperlyConfigured(f"NEXUS_CHANNEL_LAYER must be pubsub or classic, got {_layer!r}")
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": _layers[_layer],
            "CONFIG": {"hosts": [os.environ.get("NEXUS_CHANNEL_REDIS_URL", REDIS_URL)]},
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    NEXUS_RATE_LIMITS = {"uri": "memory://", "options": {}}
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}


# --- Auth, i18n, static ---------------------------------------------------

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# URLs carry no language prefix: the same link works for every room, and
# each browser sees its own language (docs/API.md, "Languages").
LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("de", "Deutsch"), ("es", "Español")]
LOCALE_PATHS = [BASE_DIR / "locale"]
LANGUAGE_COOKIE_AGE = 365 * 24 * 3600  # the switcher's choice outlives the session
LANGUAGE_COOKIE_SAMESITE = "Lax"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

LOGIN_URL = "/accounts/login/"

# Sign-in throttling (accounts/signin.py): failures are counted per address and,
# separately, per username, in the database (axes' AccessAttempt, visible in
# the admin). A locked username cannot sign in from anywhere until the
# cool-off ends, which is what stops a botnet guessing one owner's password;
# `manage.py axes_reset_username NAME` lifts it early.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env_int("NEXUS_SIGNIN_FAILURES", 10, minimum=1)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("NEXUS_SIGNIN_COOLOFF_MINUTES", 15, minimum=1))
AXES_LOCKOUT_PARAMETERS = ["ip_address", "username"]
AXES_CLIENT_IP_CALLABLE = "accounts.signin.client_address"
AXES_LOCKOUT_CALLABLE = "accounts.signin.locked_out"
AXES_DISABLE_ACCESS_LOG = True  # successful sign-ins are not an attack; don't store each one
LOGIN_REDIRECT_URL = "/dashboard/"
LOGOUT_REDIRECT_URL = "/"

MEDIA_ROOT = os.environ.get("NEXUS_MEDIA_ROOT") or BASE_DIR / "media"  # CSV exports
NEXUS_EXPORT_RETENTION_DAYS = env_int("NEXUS_EXPORT_RETENTION_DAYS", 7, minimum=1)

STATIC_URL = "static/"
STATIC_ROOT = os.environ.get("NEXUS_STATIC_ROOT") or BASE_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}
WHITENOISE_USE_FINDERS = DEBUG

# --- HTTPS and browser policy (docs/SECURITY.md, "Production settings") ---

# NEXUS_HTTPS: the site is served over HTTPS (here or at a proxy in front).
# Cookies are then Secure and plain HTTP is redirected (probes exempt).
NEXUS_HTTPS = env_bool("NEXUS_HTTPS", False)
SESSION_COOKIE_SECURE = env_bool("NEXUS_SECURE_COOKIES", NEXUS_HTTPS)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
LANGUAGE_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_SSL_REDIRECT = NEXUS_HTTPS
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]
# HSTS goes out only on HTTPS responses (Django's SecurityMiddleware), so it
# is on by default in production; behind a proxy, a request is HTTPS when the
# trusted proxy says so.
SECURE_HSTS_SECONDS = env_int("NEXUS_HSTS_SECONDS", 0 if DEBUG else 31_536_000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("NEXUS_HSTS_INCLUDE_SUBDOMAINS", True)
SECURE_HSTS_PRELOAD = env_bool("NEXUS_HSTS_PRELOAD", False)
# Trusted reverse proxies in front (X-Forwarded-For / -Proto); see the API below.
NEXUS_NUM_PROXIES = env_int("NEXUS_NUM_PROXIES", 0)
if NEXUS_NUM_PROXIES > 0:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# Preloading is a promise to browsers' lists that takes months to undo: the
# operator opts in (NEXUS_HSTS_PRELOAD=1); `check --deploy` need not nag.
SILENCED_SYSTEM_CHECKS = [] if SECURE_HSTS_PRELOAD else ["security.W021"]
# X_FRAME_OPTIONS is SAMEORIGIN, not DENY, on purpose: an event's pages show
# the current poll's page in a frame (the CSP's frame-ancestors says the same).
SILENCED_SYSTEM_CHECKS.append("security.W019")

# GraphiQL and schema introspection: on in development, off in production
# unless asked for.
NEXUS_GRAPHIQL = env_bool("NEXUS_GRAPHIQL", DEBUG)

# Pages may run only their own scripts and styles (they have no inline
# script). The API answers JSON, and GraphiQL (when on) is strawberry's page
# with an inline script, so neither carries the policy. Pages may be framed
# by this site only: an event's pages show the current poll's in a frame.
X_FRAME_OPTIONS = "SAMEORIGIN"  # the same rule for browsers without CSP
CONTENT_SECURITY_POLICY = {
    "EXCLUDE_URL_PREFIXES": ["/api/", *(["/graphql/"] if NEXUS_GRAPHIQL else [])],
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'self'"],
    },
}


# --- API ------------------------------------------------------------------

# Anonymous clients are keyed by voter id when they send one, so a room of
# phones behind one NAT is not one client; NEXUS_THROTTLE_ANON_IP caps what a
# single address can do however many voter ids it invents.
REST_FRAMEWORK: dict = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.AllowAny"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["nexus.limits.JSONParser"],
    "EXCEPTION_HANDLER": "nexus.errors.exception_handler",
    # Responses are chosen by the Accept header only (JSON, or CSV where an
    # endpoint offers it); no `?format=` query parameter.
    "URL_FORMAT_OVERRIDE": None,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_THROTTLE_RATES": {
        "anon": env_rate("NEXUS_THROTTLE_ANON", "120/min"),
        "anon_ip": env_rate("NEXUS_THROTTLE_ANON_IP", "6000/min"),
        "user": env_rate("NEXUS_THROTTLE_USER", "600/min"),
        # `GET votes/mine/`, per account or (anonymous) per address: a room
        # loading the voter page, not a scan of ids.
        "mine": env_rate("NEXUS_THROTTLE_MINE", "1200/min"),
        # Export jobs started per account: each reads every ballot of a poll.
        "export": env_rate("NEXUS_THROTTLE_EXPORTS", "30/hour"),
        # Integrity reports per account: each reads every ballot of a poll.
        "integrity": env_rate("NEXUS_THROTTLE_INTEGRITY", "20/min"),
        # Q&A questions asked, per voter and per address (a room behind one
        # NAT asks far fewer questions than it casts votes).
        "question": env_rate("NEXUS_THROTTLE_QUESTIONS", "10/min"),
        "question_ip": env_rate("NEXUS_THROTTLE_QUESTIONS_IP", "300/min"),
        # Proof-of-work challenges handed out per address: a room behind one
        # NAT takes one per phone; each costs the server one key derivation.
        "challenge": env_rate("NEXUS_THROTTLE_CHALLENGES", "600/min"),
        # Results history pages per address: a page reads up to 50,000 rows.
        "history": env_rate("NEXUS_THROTTLE_HISTORY", "120/min"),
        # Accounts made per address, over the API and the sign-up page.
        "signup": env_rate("NEXUS_THROTTLE_SIGNUPS", "60/hour"),
        # Webhook test events sent per account: each is a request to its URL.
        "webhook_test": env_rate("NEXUS_THROTTLE_WEBHOOK_TESTS", "10/min"),
        # Webhooks saved or edited per account: each looks its host up.
        "webhook_write": env_rate("NEXUS_THROTTLE_WEBHOOK_WRITES", "30/min"),
    },
    # 0: the client is REMOTE_ADDR and X-Forwarded-For is ignored (it is
    # spoofable); behind one reverse proxy set NEXUS_NUM_PROXIES=1.
    "NUM_PROXIES": NEXUS_NUM_PROXIES,
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
# Failures counted per address (polls.throttles.failure_hit): past the rate,
# the next try answers 429 `throttled`, right or wrong.
NEXUS_FAILURE_RATES = {
    "voter_id": env_rate("NEXUS_THROTTLE_BAD_VOTER_ID", "30/min"),
    "passcode": env_rate("NEXUS_THROTTLE_BAD_PASSCODE", "30/min"),
}
if DEBUG:
    REST_FRAMEWORK["DEFAULT_RENDERER_CLASSES"].append(
        "rest_framework.renderers.BrowsableAPIRenderer"
    )

SPECTACULAR_SETTINGS = {
    "TITLE": "Nexus API",
    "DESCRIPTION": "Real-time voting server: polls, ballots and live results.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "ENUM_NAME_OVERRIDES": {
        "PollKindEnum": "polls.models.Poll.Kind",
        "PollStatusEnum": "polls.models.Poll.Status",
        "ResultsVisibilityEnum": "polls.models.Poll.Results",
    },
}

# Proof of work for `challenge: pow` polls (polls/challenges.py, docs/SECURITY.md):
# a challenge is solved by trying counters 0, 1, 2, ... up to a secret one
# drawn from [0, MAX], each try one PBKDF2-SHA-256 of COST iterations.
NEXUS_CHALLENGE_COST = env_int("NEXUS_CHALLENGE_COST", 1000, minimum=1)
NEXUS_CHALLENGE_MAX_NUMBER = env_int("NEXUS_CHALLENGE_MAX_NUMBER", 2000, minimum=2)
NEXUS_CHALLENGE_TTL = env_int("NEXUS_CHALLENGE_TTL_SECONDS", 1800, minimum=10)

# Stuffing detection (polls/integrity.py; the defaults' reasons in
# docs/SECURITY.md). Signals are blanked this many days after their ballot.
NEXUS_SIGNAL_RETENTION_DAYS = env_int("NEXUS_SIGNAL_RETENTION_DAYS", 30, minimum=1)
# The worker runs the detector over the polls that moved, this often.
NEXUS_DETECT_SCAN_SECONDS = env_int("NEXUS_DETECT_SCAN_SECONDS", 30, minimum=1)
NEXUS_DETECT_WINDOW_SECONDS = env_int("NEXUS_DETECT_WINDOW_SECONDS", 60, minimum=1)
NEXUS_DETECT_PREFIX_BALLOTS = env_int("NEXUS_DETECT_PREFIX_BALLOTS", 50, minimum=1)
NEXUS_DETECT_BURST_FACTOR = env_int("NEXUS_DETECT_BURST_FACTOR", 10, minimum=2)
NEXUS_DETECT_BURST_MIN = env_int("NEXUS_DETECT_BURST_MIN", 50, minimum=2)
NEXUS_DETECT_LOCKSTEP_BALLOTS = env_int("NEXUS_DETECT_LOCKSTEP_BALLOTS", 20, minimum=3)
NEXUS_DETECT_LOCKSTEP_CV = env_int("NEXUS_DETECT_LOCKSTEP_CV_PERCENT", 15, minimum=1) / 100

# /metrics answers loopback and private addresses, or this bearer token.
NEXUS_METRICS_TOKEN = os.environ.get("NEXUS_METRICS_TOKEN", "")

# Bad input (nexus/limits.py): a body over this many bytes answers 413.
NEXUS_MAX_BODY_BYTES = env_int("NEXUS_MAX_BODY_BYTES", 1024 * 1024, minimum=1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = NEXUS_MAX_BODY_BYTES

# Live results: at most one broadcast per poll per interval per process; the
# reconciler heals lost messages within NEXUS_RESYNC_SECONDS; a socket whose
# sends stay blocked NEXUS_WS_SEND_TIMEOUT seconds is closed (4408).
# The kernel send buffer of each socket in an ASGI process (realtime/buffers.py);
# Linux doubles it. 0 leaves Linux's own growth (up to 4 MiB per socket).
NEXUS_WS_SNDBUF_BYTES = env_int("NEXUS_WS_SNDBUF_BYTES", 32768)
NEXUS_BROADCAST_INTERVAL = env_int("NEXUS_BROADCAST_INTERVAL_MS", 100, minimum=10) / 1000
NEXUS_RESYNC_SECONDS = env_int("NEXUS_RESYNC_MS", 1000, minimum=100) / 1000
# Fan-out pacing (realtime/hub.py): a poll's sockets in one process take
# turns, at most SENDS a second, and at most BYTES a second of its state
# (but each socket within 2 s; 8 MB/s: 64 Mbit/s of uplink per poll per
# process); each is sent the newest state on its turn. A poll watched by N
# sockets here reaches every one within N / SENDS seconds. The defaults suit
# a small machine that runs one socket process per core beside the REST
# workers (docs/BENCHMARKS.md, "Sockets take turns": 8,000 sends a second
# took under half a core there; SENDS from 5,000 to 10,000 were measured).
# Raise both on dedicated socket machines (docs/SCALING.md).
NEXUS_WS_SENDS_PER_SECOND = env_int("NEXUS_WS_SENDS_PER_SECOND", 8000, minimum=100)
NEXUS_WS_BYTES_PER_SECOND = env_int("NEXUS_WS_BYTES_PER_SECOND", 8_000_000, minimum=1_000_000)
NEXUS_WS_SEND_TIMEOUT = env_int("NEXUS_WS_SEND_TIMEOUT_MS", 10000, minimum=100) / 1000

# GraphQL: introspection can be switched off in production; the limits stop
# abusive queries before they run.
NEXUS_GRAPHQL_INTROSPECTION = env_bool("NEXUS_GRAPHQL_INTROSPECTION", NEXUS_GRAPHIQL)
NEXUS_GRAPHQL_MAX_DEPTH = env_int("NEXUS_GRAPHQL_MAX_DEPTH", 8, minimum=2)
NEXUS_GRAPHQL_MAX_TOKENS = env_int("NEXUS_GRAPHQL_MAX_TOKENS", 2000, minimum=100)
NEXUS_GRAPHQL_MAX_FIELDS = env_int("NEXUS_GRAPHQL_MAX_FIELDS", 250, minimum=20)

# The vote pipeline commits ballot writes in batches on a committer thread
# (polls/services/pipeline.py); off, each write commits alone in its request.
NEXUS_VOTE_BATCHING = env_bool("NEXUS_VOTE_BATCHING", True)
# Idempotency records are kept at least this long (contract: 24 h).
NEXUS_IDEMPOTENCY_TTL_HOURS = env_int("NEXUS_IDEMPOTENCY_TTL_HOURS", 24, minimum=24)

# Webhooks (webhooks/, docs/API.md "Webhooks"). ALLOW_PRIVATE lets hooks use
# plain http and private, loopback and link-local addresses: development only.
NEXUS_WEBHOOK_ALLOW_PRIVATE = env_bool("NEXUS_WEBHOOK_ALLOW_PRIVATE", False)
NEXUS_WEBHOOK_TIMEOUT = env_int("NEXUS_WEBHOOK_TIMEOUT_SECONDS", 10, minimum=1)
# Attempt n + 1 waits RETRY * 2**(n - 1) seconds (at most an hour), with jitter.
NEXUS_WEBHOOK_RETRY_SECONDS = env_int("NEXUS_WEBHOOK_RETRY_SECONDS", 5, minimum=1)
NEXUS_WEBHOOK_MAX_ATTEMPTS = env_int("NEXUS_WEBHOOK_MAX_ATTEMPTS", 12, minimum=1)
# A hook whose every attempt failed for this long is switched off; its owner is emailed.
NEXUS_WEBHOOK_DISABLE_AFTER = env_int("NEXUS_WEBHOOK_DISABLE_AFTER_SECONDS", 86400, minimum=1)
NEXUS_WEBHOOKS_PER_USER = env_int("NEXUS_WEBHOOKS_PER_USER", 20, minimum=1)
# Pending deliveries a hook may have; past it new events are dropped (and logged).
NEXUS_WEBHOOK_MAX_PENDING = env_int("NEXUS_WEBHOOK_MAX_PENDING", 1000, minimum=10)
NEXUS_WEBHOOK_LOG_DAYS = env_int("NEXUS_WEBHOOK_LOG_DAYS", 7, minimum=1)

# --- Background jobs (Celery) ---------------------------------------------

# Unset: tasks run eagerly in the caller (`make run` needs no broker).
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "").strip()
if CELERY_BROKER_URL and urlparse(CELERY_BROKER_URL).scheme not in {"amqp", "amqps", "redis"}:
    raise ImproperlyConfigured(
        f"CELERY_BROKER_URL must be amqp://... or redis://..., got {CELERY_BROKER_URL!r}"
    )
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_IGNORE_RESULT = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_DEFAULT_QUEUE = os.environ.get("NEXUS_CELERY_QUEUE", "nexus")
CELERY_WORKER_HIJACK_ROOT_LOGGER = False  # our LOGGING (JSON in production) applies
CELERY_BEAT_SCHEDULE = {
    # Closes and opens polls whose moment passed even if their timed task was lost.
    "polls-sweep": {"task": "polls.tasks.polls_sweep", "schedule": 1.0},
    "idempotency-purge": {"task": "polls.tasks.idempotency_purge", "schedule": 3600.0},
    "exports-purge": {"task": "polls.tasks.exports_purge", "schedule": 3600.0},
    "challenges-purge": {"task": "polls.tasks.spent_challenges_purge", "schedule": 3600.0},
    "signals-purge": {"task": "polls.tasks.signals_purge", "schedule": 3600.0},
    # vote.batch announcements, and every webhook delivery that is due.
    # A sweep not started within its second is dropped: the next one does its work.
    "webhooks-sweep": {
        "task": "webhooks.tasks.webhooks_sweep",
        "schedule": 1.0,
        "options": {"expires": 1.0},
    },
    "deliveries-purge": {"task": "webhooks.tasks.deliveries_purge", "schedule": 3600.0},
    "integrity-sweep": {
        "task": "polls.tasks.integrity_sweep",
        "schedule": float(NEXUS_DETECT_SCAN_SECONDS),
    },
}

# --- Email ------------------------------------------------------------------

EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 10, minimum=1)
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "Nexus <nexus@localhost>")


# --- Logging ----------------------------------------------------------------

# JSON lines in production (one per request and per task), text in development.
LOG_FORMAT = os.environ.get("NEXUS_LOG_FORMAT", "text" if DEBUG else "json")
if LOG_FORMAT not in {"text", "json"}:
    raise ImproperlyConfigured(f"NEXUS_LOG_FORMAT must be text or json, got {LOG_FORMAT!r}")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        },
        "text": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT}},
    # A database outage is one warning from nexus.outage, not a traceback per request.
    "filters": {"outages": {"()": "nexus.outage.DropDatabaseOutages"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {
        "httpx": {"level": "WARNING"},  # the load test's client, per request
        "django.request": {"level": "ERROR", "filters": ["outages"]},  # 4xx are answers
    },
}
