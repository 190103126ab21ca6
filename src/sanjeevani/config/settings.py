"""Settings for every deployment, read from the environment (12-factor).

The defaults give the embedded run: SQLite in WAL mode, an in-process channel
layer and local-memory cache. Production is switched on by ``SANJEEVANI_ENV=production``
and then refuses unsafe values instead of silently running with them.
"""

from __future__ import annotations

import ipaddress
import json
import math
import os
import secrets
from pathlib import Path

import dj_database_url
from csp.constants import NONCE as CSP_NONCE
from csp.constants import NONE as CSP_NONE
from csp.constants import SELF as CSP_SELF
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

PACKAGE_DIR = Path(__file__).resolve().parent.parent
BASE_DIR = Path(os.environ.get("SANJEEVANI_HOME", PACKAGE_DIR.parent.parent)).resolve()
VAR_DIR = Path(os.environ.get("SANJEEVANI_VAR", BASE_DIR / "var")).resolve()


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: list[str]) -> list[str]:
    value = os.environ.get(name)
    if not value:
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


ENVIRONMENT = os.environ.get("SANJEEVANI_ENV", "development").strip().lower()
PRODUCTION = ENVIRONMENT == "production"
DEBUG = env_bool("DEBUG", not PRODUCTION)


#: A production SECRET_KEY: at least this long, with this many different characters and
#: this many bits by a per-character (Shannon) estimate. Django's own check (5 different)
#: passes a word repeated five times; this refuses it, and any key that is one shorter piece
#: repeated. A 64-digit hex key (``openssl rand -hex 32``) passes, as do Django's and
#: ``secrets.token_urlsafe(50)``.
SECRET_KEY_MIN_LENGTH = 50
SECRET_KEY_MIN_DISTINCT = 10
SECRET_KEY_MIN_BITS = 150


def _is_repetitive(key: str) -> bool:
    """True when the key is one shorter piece repeated ("abcabcabc..."): long, but guessable."""
    return any(
        key == (key[:period] * (len(key) // period + 1))[: len(key)]
        for period in range(1, len(key) // 2 + 1)
    )


def _estimated_bits(key: str) -> float:
    counts = [key.count(char) for char in set(key)]
    return -sum(n * math.log2(n / len(key)) for n in counts)


def _weak_secret(key: str) -> bool:
    return (
        len(key) < SECRET_KEY_MIN_LENGTH
        or len(set(key)) < SECRET_KEY_MIN_DISTINCT
        or _estimated_bits(key) < SECRET_KEY_MIN_BITS
        or key.startswith("django-insecure")
        or _is_repetitive(key)
    )


def _secret_key() -> str:
    key = os.environ.get("SECRET_KEY", "")
    if PRODUCTION:
        if _weak_secret(key):
            raise ImproperlyConfigured(
                "SECRET_KEY must be set to a random value of at least 50 characters "
                "in production (SANJEEVANI_ENV=production): many different characters "
                "(not a word or a short piece repeated); make one with: "
                "python -c 'import secrets; print(secrets.token_urlsafe(50))'"
            )
        return key
    if key:
        return key
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    key_file = VAR_DIR / "secret_key"
    if not key_file.exists():
        key_file.write_text(secrets.token_urlsafe(64))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


SECRET_KEY = _secret_key()
#: Earlier secrets, comma-separated: sessions and doctors' sealed signing keys still open.
SECRET_KEY_FALLBACKS = env_list("SECRET_KEY_FALLBACKS", [])
ALLOWED_HOSTS = env_list(
    "ALLOWED_HOSTS", [] if PRODUCTION else ["127.0.0.1", "localhost", "[::1]", "testserver"]
)
if PRODUCTION and not ALLOWED_HOSTS:
    raise ImproperlyConfigured("ALLOWED_HOSTS must name the hosts this deployment serves.")
if PRODUCTION and DEBUG:
    raise ImproperlyConfigured(
        "DEBUG must be off in production (it shows settings and patient data in error "
        "pages): remove DEBUG from the environment or set DEBUG=0."
    )
if PRODUCTION and any("*" in host or host.startswith(".") for host in ALLOWED_HOSTS):
    raise ImproperlyConfigured(
        "ALLOWED_HOSTS must not contain a wildcard ('*' or a leading '.') in production: "
        "list each host name this deployment serves, e.g. ALLOWED_HOSTS=tele.example.gov.in."
    )
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "channels",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "csp",
    "sanjeevani.config",
    "sanjeevani.observability",
    "sanjeevani.audit",
    "sanjeevani.accounts",
    "sanjeevani.registry",
    "sanjeevani.patients",
    "sanjeevani.rollups",
    "sanjeevani.queueing",
    "sanjeevani.consultations",
    "sanjeevani.prescriptions",
    "sanjeevani.realtime",
    "sanjeevani.hwc",
    "sanjeevani.opd",
    "sanjeevani.portal",
    "sanjeevani.dashboard",
    "sanjeevani.backups",
]

MIDDLEWARE = [
    # Outermost: the request id (logs, audit rows, live events) and the request's metrics
    # (sanjeevani.observability; docs/observability.md).
    "sanjeevani.observability.middleware.RequestObservation",
    # /healthz, /readyz, /metrics: answered here, before the host check and HTTPS redirect.
    "sanjeevani.observability.probes.ProbeRoutes",
    # First: any error under /api/ that is not JSON yet becomes the API's error shape.
    "sanjeevani.config.api_errors.JsonErrorsUnderApi",
    # NUL dropped from the query string before any view reads it (request_guards.py).
    "sanjeevani.config.request_guards.DropNullCharacters",
    "django.middleware.security.SecurityMiddleware",
    # Content-Security-Policy and Permissions-Policy on every response (--- security --- below).
    "sanjeevani.config.security_headers.ContentSecurityPolicyMiddleware",
    "sanjeevani.config.security_headers.PermissionsPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "sanjeevani.config.urls"
ASGI_APPLICATION = "sanjeevani.config.asgi.application"
WSGI_APPLICATION = None

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [PACKAGE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "sanjeevani.portal.context_processors.landing",
            ],
        },
    }
]

# --- database -----------------------------------------------------------------
VAR_DIR.mkdir(parents=True, exist_ok=True)
DATABASE_URL = os.environ.get("DATABASE_URL") or f"sqlite:///{VAR_DIR / 'sanjeevani.sqlite3'}"
DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=0)}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # IMMEDIATE makes every transaction take the write lock up front, so concurrent
    # writers queue on busy_timeout instead of failing with "database is locked".
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": (
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; "
            "PRAGMA busy_timeout=20000; PRAGMA foreign_keys=ON;"
        ),
    }
elif os.environ.get("DB_POOL_MAX_SIZE"):
    # Production (PostgreSQL): each worker process keeps a bounded pool of connections, so
    # a request borrows one instead of opening its own (a new connection costs PostgreSQL
    # about 3 ms of CPU). A request that finds the pool exhausted waits DB_POOL_TIMEOUT
    # seconds, then gets the 503 "try again" (config/overload.py); each borrowed connection
    # is checked first, so a restarted database costs no request. Sized with
    # MAX_CONCURRENT_REQUESTS: docs/deployment.md.
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": int(os.environ.get("DB_POOL_MIN_SIZE", "1")),
        "max_size": int(os.environ["DB_POOL_MAX_SIZE"]),
        "timeout": float(os.environ.get("DB_POOL_TIMEOUT", "5")),
    }
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True  # the pool checks what it lends
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Parameters bound on the server, and a statement run DB_PREPARE_THRESHOLD times on one
    # connection prepared there (psycopg): PostgreSQL then parses and plans it once per
    # connection instead of on every call, which took about 60 % off its CPU per request
    # (docs/deployment.md, "What one node carries"). Each new connection's threshold follows
    # DATABASE_POOLER_MODE (config.prepared_statements.follow_pooler_mode): behind PgBouncer's
    # transaction mode before 1.21 nothing may be prepared. SQL that cannot take server-side
    # parameters (DDL) uses config.prepared_statements.client_bound_cursor.
    DATABASES["default"].setdefault("OPTIONS", {})["server_side_binding"] = True
DB_PREPARE_THRESHOLD = int(os.environ.get("DB_PREPARE_THRESHOLD", "5"))
# A suffix lets several test runs share one machine without sharing a test database.
TEST_DB_SUFFIX = os.environ.get("TEST_DB_SUFFIX", "")
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / f"test{TEST_DB_SUFFIX}.sqlite3")}
else:
    DATABASES["default"]["TEST"] = {"NAME": f"test_{DATABASES['default']['NAME']}{TEST_DB_SUFFIX}"}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# A PostgreSQL streaming standby of the default database (optional): the pages marked
# ``reads_from_replica`` read there once it has replayed the client's last write
# (config/database_routers.py, docs/deployment.md "A read replica"). Unset: no change.
DATABASE_REPLICA_URL = os.environ.get("DATABASE_REPLICA_URL", "")
if DATABASE_REPLICA_URL:
    if DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
        raise ImproperlyConfigured(
            "DATABASE_REPLICA_URL needs a PostgreSQL DATABASE_URL (the replica is its standby)."
        )
    DATABASES["replica"] = dj_database_url.parse(DATABASE_REPLICA_URL, conn_max_age=0)
    # An unreachable replica host must not hold a request long: the router then reads from
    # the primary. Its pool waits at most a second for a connection, for the same reason.
    DATABASES["replica"].setdefault("OPTIONS", {}).setdefault("connect_timeout", 2)
    DATABASES["replica"]["OPTIONS"]["server_side_binding"] = True
    if "pool" in DATABASES["default"].get("OPTIONS", {}):
        primary_pool = DATABASES["default"]["OPTIONS"]["pool"]
        DATABASES["replica"]["OPTIONS"]["pool"] = {
            **primary_pool,
            "timeout": min(primary_pool["timeout"], 1.0),
        }
        DATABASES["replica"]["CONN_HEALTH_CHECKS"] = True
    DATABASES["replica"]["TEST"] = {"MIRROR": "default"}
    DATABASE_ROUTERS = ["sanjeevani.config.database_routers.ReplicaRouter"]
    MIDDLEWARE.insert(
        MIDDLEWARE.index("django.contrib.sessions.middleware.SessionMiddleware"),
        "sanjeevani.config.database_routers.WrittenPositionCookie",
    )

# --- overload -----------------------------------------------------------------
# HTTP requests one worker process serves at once; past it a request is answered 503 with
# Retry-After at once (config/overload.py). 0: no bound (development and tests).
MAX_CONCURRENT_REQUESTS = int(os.environ.get("MAX_CONCURRENT_REQUESTS", "0"))
OVERLOAD_RETRY_AFTER = int(os.environ.get("OVERLOAD_RETRY_AFTER", "5"))

# --- API sign-ins and metrics ---------------------------------------------------
# A device's API token stops working this many days after its last use; its last use is
# written at most this often (accounts/api_tokens.py).
API_TOKEN_IDLE_DAYS = int(os.environ.get("API_TOKEN_IDLE_DAYS", "30"))
API_TOKEN_TOUCH_SECONDS = int(os.environ.get("API_TOKEN_TOUCH_SECONDS", "300"))
# The bearer token Prometheus sends to /metrics; empty: loopback only (observability/views.py).
METRICS_TOKEN = os.environ.get("METRICS_TOKEN", "")

# --- cache and channel layer --------------------------------------------------
REDIS_URL = os.environ.get("REDIS_URL", "")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "sanjeevani.config.redis_cache.SharedClientRedisCache",
            "LOCATION": REDIS_URL,
        }
    }
    CHANNEL_LAYERS = {
        "default": {
            # channels_redis, plus one membership question per batch (realtime/layers.py).
            "BACKEND": "sanjeevani.realtime.layers.RedisChannelLayer",
            # redis-py 6+ caps a pool at 100 connections and fails beyond it (a burst of
            # waiting rooms joining their groups needs more), and its 5 s socket timeout
            # equals channels_redis's 5 s blocking receive, so a loaded node times out idle
            # consumers and drops their sockets (bench/ws_capacity.py --redis).
            "CONFIG": {
                "hosts": [{"address": REDIS_URL, "max_connections": 2000, "socket_timeout": 15}],
                "capacity": 1500,
                "expiry": 30,
            },
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    # Channels' in-memory layer, minus its per-receive full scan (see realtime/layers.py).
    CHANNEL_LAYERS = {"default": {"BACKEND": "sanjeevani.realtime.layers.InMemoryChannelLayer"}}

# --- people and sign-in ---------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "accounts:staff_login"
LOGIN_REDIRECT_URL = "portal:home"
REQUIRE_STAFF_2FA = env_bool("REQUIRE_STAFF_2FA", PRODUCTION)
if PRODUCTION and not REQUIRE_STAFF_2FA:
    raise ImproperlyConfigured(
        "REQUIRE_STAFF_2FA must stay on in production (administrators sign in with an "
        "authenticator code): remove REQUIRE_STAFF_2FA from the environment or set it to 1."
    )
OTP_TOTP_ISSUER = "Sanjeevani"

OTP_LENGTH = 6
OTP_TTL_SECONDS = int(os.environ.get("OTP_TTL_SECONDS", "300"))
OTP_MAX_ATTEMPTS = int(os.environ.get("OTP_MAX_ATTEMPTS", "5"))
OTP_RESEND_INTERVAL_SECONDS = int(os.environ.get("OTP_RESEND_INTERVAL_SECONDS", "60"))
OTP_MAX_PER_NUMBER_PER_HOUR = int(os.environ.get("OTP_MAX_PER_NUMBER_PER_HOUR", "5"))
OTP_MAX_PER_CLIENT_PER_HOUR = int(os.environ.get("OTP_MAX_PER_CLIENT_PER_HOUR", "30"))
# Limits that slow an attacker without locking the real person out (accounts/throttle.py):
# past the free allowance, each further try for the same number or username must wait
# base * 2^(extra tries) seconds after the last one, never more than the cap. A device that
# signed in before (trusted-device cookie) is not slowed by what other addresses did.
OTP_NUMBER_FREE_PER_HOUR = int(os.environ.get("OTP_NUMBER_FREE_PER_HOUR", "5"))
OTP_NUMBER_BACKOFF_CAP_SECONDS = int(os.environ.get("OTP_NUMBER_BACKOFF_CAP_SECONDS", "300"))
OTP_NUMBER_FREE_WRONG_CODES = int(os.environ.get("OTP_NUMBER_FREE_WRONG_CODES", "10"))
OTP_WRONG_CODE_BACKOFF_CAP_SECONDS = int(os.environ.get("OTP_WRONG_CODE_BACKOFF_CAP_SECONDS", "60"))
STAFF_PASSWORD_FREE_FAILURES = int(os.environ.get("STAFF_PASSWORD_FREE_FAILURES", "10"))
STAFF_PASSWORD_BACKOFF_CAP_SECONDS = int(os.environ.get("STAFF_PASSWORD_BACKOFF_CAP_SECONDS", "60"))
STAFF_PASSWORD_FREE_FAILURES_PER_ADDRESS = int(
    os.environ.get("STAFF_PASSWORD_FREE_FAILURES_PER_ADDRESS", "5")
)
STAFF_PASSWORD_ADDRESS_BACKOFF_CAP_SECONDS = int(
    os.environ.get("STAFF_PASSWORD_ADDRESS_BACKOFF_CAP_SECONDS", "900")
)
SIGN_IN_BACKOFF_BASE_SECONDS = float(os.environ.get("SIGN_IN_BACKOFF_BASE_SECONDS", "1"))
# Failures are forgotten this long after the last one.
SIGN_IN_FAILURE_WINDOW_SECONDS = int(os.environ.get("SIGN_IN_FAILURE_WINDOW_SECONDS", "900"))
TRUSTED_DEVICE_COOKIE = "sanjeevani_device"
TRUSTED_DEVICE_DAYS = int(os.environ.get("TRUSTED_DEVICE_DAYS", "90"))

# The client's address (sanjeevani.audit.services.client_ip): X-Forwarded-For is read only
# when the connection comes from one of these proxies (comma-separated addresses or CIDRs).
TRUSTED_PROXIES = env_list("TRUSTED_PROXIES", [])
for _proxy in TRUSTED_PROXIES:
    try:
        ipaddress.ip_network(_proxy, strict=False)
    except ValueError:
        raise ImproperlyConfigured(
            f"TRUSTED_PROXIES: {_proxy!r} is not an address or CIDR, e.g. 10.0.0.0/24."
        ) from None
# HTTPS as the proxy saw it: X-Forwarded-Proto counts only behind listed proxies (the ASGI
# entry point drops it from any other peer, config/proxy_headers.py). Without TRUSTED_PROXIES
# a proxy that terminates TLS makes every request look like plain HTTP.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if TRUSTED_PROXIES else None

SMS_BACKEND = os.environ.get("SMS_BACKEND", "console")
SMS_OUTBOX_DIR = Path(os.environ.get("SMS_OUTBOX_DIR", VAR_DIR / "sms-outbox"))
SMS_GATEWAY_URL = os.environ.get("SMS_GATEWAY_URL", "")
SMS_GATEWAY_TOKEN = os.environ.get("SMS_GATEWAY_TOKEN", "")
SMS_SENDER_ID = os.environ.get("SMS_SENDER_ID", "SNJVNI")

# --- real-time ------------------------------------------------------------------
ICE_SERVERS = json.loads(os.environ.get("ICE_SERVERS", "[]"))
TURN_URLS = env_list("TURN_URLS", [])
TURN_SECRET = os.environ.get("TURN_SECRET", "")
TURN_CREDENTIAL_TTL_SECONDS = int(os.environ.get("TURN_CREDENTIAL_TTL_SECONDS", "3600"))

# --- queue ------------------------------------------------------------------------
# An SMS says "your turn is near" once, when this many or fewer are ahead (position).
QUEUE_NEAR_TURN_POSITION = int(os.environ.get("QUEUE_NEAR_TURN_POSITION", "3"))
# Under load, claims in one process mark an OPD's near-turn tokens at most this often
# (seconds); joins, cancellations and the housekeeping loop always mark. 0: every claim.
QUEUE_NEAR_TURN_SWEEP_SECONDS = float(os.environ.get("QUEUE_NEAR_TURN_SWEEP_SECONDS", "1"))

# --- files --------------------------------------------------------------------
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", VAR_DIR / "private-media"))
MEDIA_URL = None
UPLOAD_MAX_BYTES = int(os.environ.get("UPLOAD_MAX_BYTES", str(10 * 1024 * 1024)))
DATA_UPLOAD_MAX_MEMORY_SIZE = UPLOAD_MAX_BYTES + 1024 * 1024
SIGNING_KEY_FILE = Path(
    os.environ.get("SIGNING_KEY_FILE", VAR_DIR / "keys" / "prescription_ed25519.pem")
)
# This deployment's address, for links in SMS and QR codes made outside a request.
PUBLIC_BASE_URL = os.environ.get("PUBLIC_BASE_URL", "http://127.0.0.1:8000")

STATIC_URL = "static/"
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", VAR_DIR / "static"))
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
STATICFILES_DIRS = [PACKAGE_DIR / "static"]
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

# --- language and time ------------------------------------------------------------
LANGUAGE_CODE = "en"
LANGUAGES = [
    ("en", _("English")),
    ("hi", _("Hindi")),
    ("bn", _("Bengali")),
    ("ta", _("Tamil")),
    ("te", _("Telugu")),
    ("kn", _("Kannada")),
    ("ml", _("Malayalam")),
    ("mr", _("Marathi")),
    ("gu", _("Gujarati")),
    ("pa", _("Punjabi")),
    ("or", _("Odia")),
    ("as", _("Assamese")),
    ("ur", _("Urdu")),
]
LOCALE_PATHS = [PACKAGE_DIR / "locale"]
TIME_ZONE = os.environ.get("TIME_ZONE", "Asia/Kolkata")
USE_I18N = True
USE_TZ = True

# --- API ----------------------------------------------------------------------------
REST_FRAMEWORK = {
    # The token first: DRF names the first class in ``WWW-Authenticate``, so a request with
    # no or a revoked token answers 401 (sign in again), not 403 (not allowed).
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "sanjeevani.accounts.authentication.DeviceTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    # drf-spectacular's, plus the error statuses each operation can answer (api_schema.py).
    "DEFAULT_SCHEMA_CLASS": "sanjeevani.config.api_schema.ProjectAutoSchema",
    "EXCEPTION_HANDLER": "sanjeevani.portal.api_errors.api_exception_handler",
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.LimitOffsetPagination",
    "PAGE_SIZE": 50,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Sanjeevani API",
    "DESCRIPTION": "Online OPD and hub-and-spoke teleconsultation; everything the pages do.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    # The documentation page's scripts are served from here, not from a public CDN.
    "REDOC_DIST": "SIDECAR",
    "ENUM_NAME_OVERRIDES": {
        "DocumentKindEnum": "sanjeevani.patients.models.PatientDocument.Kind",
        "ChatMessageKindEnum": "sanjeevani.realtime.models.ChatMessage.Kind",
        "StateKindEnum": "sanjeevani.registry.models.State.Kind",
        "ConsultationModeEnum": "sanjeevani.consultations.models.Consultation.Mode",
    },
    "COMPONENT_SPLIT_REQUEST": True,
}

# --- rate limits (sanjeevani.limits; docs/deployment.md) -------------------------------
# Every write through the API and the pages that costs an SMS or writes is counted per user
# and per client address in the cache (Redis with REDIS_URL); a refusal is 429 + Retry-After.
# The named limits and their defaults are in limits/rates.py; RATE_LIMITS (JSON) overrides
# any of them, e.g. {"queue.join": {"user": "5/hour", "address": "100/hour"}}.
RATE_LIMITS_ENABLED = env_bool("RATE_LIMITS_ENABLED", True)
try:
    RATE_LIMITS = json.loads(os.environ.get("RATE_LIMITS", "") or "{}")
    from sanjeevani.limits.rates import validate as _validate_rate_limits

    _validate_rate_limits(RATE_LIMITS)
except ValueError as _error:
    raise ImproperlyConfigured(f"RATE_LIMITS: {_error}") from None
# Notification SMS (token, near turn, missed call, prescription ready) to one number per
# day; past it they are suppressed (logged and audited). Sign-in codes are never counted.
# 0 turns the ceiling off.
SMS_DAILY_CEILING_PER_NUMBER = int(os.environ.get("SMS_DAILY_CEILING_PER_NUMBER", "20"))
REST_FRAMEWORK["DEFAULT_THROTTLE_CLASSES"] = ["sanjeevani.limits.drf.ScopedLimit"]
SPECTACULAR_SETTINGS["POSTPROCESSING_HOOKS"] = [
    *SPECTACULAR_SETTINGS.get(
        "POSTPROCESSING_HOOKS", ["drf_spectacular.hooks.postprocess_schema_enums"]
    ),
    "sanjeevani.limits.drf.add_429_to_limited_operations",
]

# --- security ------------------------------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_AGE = 60 * 60 * 12
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
if PRODUCTION:
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", str(60 * 60 * 24 * 365)))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    if SMS_BACKEND in {"console", "file"} and not env_bool("ALLOW_LOCAL_SMS_IN_PRODUCTION", False):
        raise ImproperlyConfigured(
            "SMS_BACKEND must be 'http' in production: patients cannot read a console or "
            "outbox file. Set SMS_GATEWAY_URL, or ALLOW_LOCAL_SMS_IN_PRODUCTION=1 for a trial."
        )

# --- Content-Security-Policy (django-csp 4) ---------------------------------------------------
# Strict on every page: scripts only from this origin (no inline code, no eval), styles from
# this origin plus a per-request nonce for the one <style> block shared with the PDF renderer,
# no plugins, no framing. The middleware adds this request's own ws(s):// origin to
# connect-src and a looser style-src for the API reference only
# (sanjeevani/config/security_headers.py). A CDN or a separate WebSocket host is added
# through the variables below (docs/deployment.md, "Content-Security-Policy").
# (Lower-case names: django-csp's system check refuses settings named like its 3.x CSP_*.)
_csp_static_hosts = env_list("CSP_STATIC_HOSTS", [])
_csp_connect_hosts = env_list("CSP_CONNECT_HOSTS", [])
_csp_report_uri = os.environ.get("CSP_REPORT_URI", "/csp-report/")
_CSP = {
    "EXCLUDE_URL_PREFIXES": [],
    "DIRECTIVES": {
        "default-src": [CSP_SELF],
        "script-src": [CSP_SELF, *_csp_static_hosts],
        "style-src": [CSP_SELF, CSP_NONCE, *_csp_static_hosts],
        "img-src": [CSP_SELF, "data:", *_csp_static_hosts],
        "font-src": [CSP_SELF, *_csp_static_hosts],
        "connect-src": [CSP_SELF, *_csp_connect_hosts],
        "media-src": [CSP_SELF, "blob:", "mediastream:"],
        "object-src": [CSP_NONE],
        "frame-src": [CSP_NONE],
        "base-uri": [CSP_SELF],
        "frame-ancestors": [CSP_NONE],
        "form-action": [CSP_SELF],
        "report-uri": [_csp_report_uri] if _csp_report_uri else None,
    },
}
# CSP_REPORT_ONLY=1 sends the same policy as Content-Security-Policy-Report-Only: for trying
# a change (a new CDN) on a live deployment, reports only, nothing blocked.
if env_bool("CSP_REPORT_ONLY", False):
    CONTENT_SECURITY_POLICY_REPORT_ONLY = _CSP
else:
    CONTENT_SECURITY_POLICY = _CSP

# Every line names the request (or WebSocket connection) it belongs to. LOG_FORMAT=json (for
# production: one JSON object a line, for a log collector) gives time, level, logger,
# message and request_id; the default is plain text (docs/observability.md).
LOG_FORMAT = os.environ.get("LOG_FORMAT", "text").strip().lower()
if LOG_FORMAT not in {"text", "json"}:
    raise ImproperlyConfigured("LOG_FORMAT must be 'text' or 'json'.")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "sanjeevani.observability.log_records.RequestIdFilter"}},
    "formatters": {
        "text": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        },
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "filters": ["request_id"],
            "formatter": LOG_FORMAT,
        }
    },
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
