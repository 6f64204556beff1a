"""Settings, all read from the environment.

Defaults are the safe production ones (DEBUG off, secure cookies, HSTS); a development
machine opts out explicitly with DEBUG=1. `make demo` and `make test` supply DATABASE_URL,
REDIS_URL and SECRET_KEY through `brokercrm.embedded` when they are not set.
"""

from __future__ import annotations

import os
from pathlib import Path

import dj_database_url
import dj_email_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    if value.lower() in {"1", "true", "yes", "on"}:
        return True
    if value.lower() in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (1/0, true/false), got {value!r}")


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


def env_required(name: str, hint: str) -> str:
    value = os.environ.get(name, "")
    if not value:
        raise ImproperlyConfigured(f"{name} is not set. {hint}")
    return value


DEBUG = env_bool("DEBUG", default=False)
SECRET_KEY = env_required(
    "SECRET_KEY", "Set a long random value (make demo / make test generate one under var/)."
)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")
VAR_DIR = Path(os.environ.get("BROKERCRM_VAR_DIR", BASE_DIR / "var"))

# Document and tax numbers are encrypted at rest with FIELD_ENCRYPTION_KEY: comma-separated
# Fernet keys, newest first (older ones still decrypt until `manage.py rotate_field_keys` has
# re-encrypted every row). Matching uses keyed HMAC blind indexes under BLIND_INDEX_KEY, which is
# separate so that rotating the encryption key does not invalidate the match index.
FIELD_ENCRYPTION_KEY = os.environ.get("FIELD_ENCRYPTION_KEY", "")
BLIND_INDEX_KEY = os.environ.get("BLIND_INDEX_KEY", "")

# Where outside systems (PSPs, KYC vendors) send their webhooks: this deployment's public URL.
PUBLIC_BASE_URL = os.environ.get("PUBLIC_BASE_URL", "http://127.0.0.1:8000")

# KYC liveness vendor (the simulator in `make demo`: `python -m kyc.simulator`). Empty URL: no
# vendor, and liveness is left to a reviewer. The secret verifies the vendor's webhooks.
KYC_LIVENESS_URL = os.environ.get("KYC_LIVENESS_URL", "")
KYC_LIVENESS_API_KEY = os.environ.get("KYC_LIVENESS_API_KEY", "")
KYC_LIVENESS_WEBHOOK_SECRET = os.environ.get("KYC_LIVENESS_WEBHOOK_SECRET", "")
# A session the vendor has not answered after this long goes to a reviewer.
KYC_LIVENESS_TIMEOUT_MINUTES = int(os.environ.get("KYC_LIVENESS_TIMEOUT_MINUTES", "30"))
# How long the PSP keeps a hosted payment page open; an unpaid deposit is expired after it.
PSP_CHECKOUT_MINUTES = int(os.environ.get("PSP_CHECKOUT_MINUTES", "60"))

# Trading-server simulator (`python -m platforms.simulator`, run by `make demo`): where the demo
# data points its MT5 and MT4 servers. Real servers are configured in the admin, each naming
# the environment variable that holds its manager credentials.
TRADING_SIMULATOR_URL = os.environ.get("TRADING_SIMULATOR_URL", "http://127.0.0.1:8702")

INSTALLED_APPS = [
    # The back office: unfold's theme and templates (before the admin, whose templates it
    # overrides), served by our own admin site (brokercrm.backoffice.site).
    "unfold.apps.BasicAppConfig",
    "brokercrm.backoffice.apps.BackOfficeAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "guardian",
    "brokercrm.accounts",
    "brokercrm.events",
    "brokercrm.notifications",
    "brokercrm.backoffice",
    "brokercrm",
    "entities",
    "identity",
    "kyc",
    "wallets",
    "payments",
    "platforms",
    "ib",
    "support",
    "portal",
    "audit",
    "django_htmx",
    "csp",
    "django_otp",
    "django_otp.plugins.otp_totp",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "brokercrm.context.RequestContextMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Staff see dates and times in their own time zone.
    "brokercrm.timezones.StaffTimeZoneMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # The client portal: the brand from the host or /b/<brand>/, the client's language, the
    # signed-in client with idle and absolute limits, and the portal's Content-Security-Policy.
    "portal.middleware.PortalMiddleware",
    "portal.middleware.PortalContentSecurityPolicyMiddleware",
]

ROOT_URLCONF = "brokercrm.urls"
WSGI_APPLICATION = "brokercrm.wsgi.application"
AUTH_USER_MODEL = "accounts.User"

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
                "django.template.context_processors.i18n",
                "csp.context_processors.nonce",
                "portal.context.portal",
            ],
        },
    },
]

DATABASE_URL = env_required(
    "DATABASE_URL",
    "Point it at PostgreSQL >= 15 (postgresql://user:pass@host:5432/db), or run through "
    "`make demo` / `make test`, which start the embedded one.",
)
if not DATABASE_URL.startswith(("postgres://", "postgresql://", "pgsql://")):
    raise ImproperlyConfigured(
        "brokercrm runs on PostgreSQL only; DATABASE_URL must be postgresql://"
    )
DATABASES = {
    "default": dj_database_url.parse(
        DATABASE_URL,
        conn_max_age=int(os.environ.get("DATABASE_CONN_MAX_AGE", "60")),
        conn_health_checks=True,
    )
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env_required(
    "REDIS_URL",
    "Point it at Redis (redis://host:6379/0 or unix:///path/redis.sock), or run through "
    "`make demo` / `make test`, which start the embedded one.",
)
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": "brokercrm",
    }
}

AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "guardian.backends.ObjectPermissionBackend",
]
# Staff grants are object permissions on LegalEntity/Desk rows; no anonymous user row needed.
ANONYMOUS_USER_NAME = None
GUARDIAN_RAISE_403 = False

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 10},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en"
# The languages clients are written to in (portal, notifications, e-mail); staff read English.
LANGUAGES = [("en", "English"), ("es", "Español"), ("ar", "العربية")]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# Absolute: the portal's /b/<brand>/ prefix must not reach static file URLs.
STATIC_URL = "/static/"
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", VAR_DIR / "static"))
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

# Request bodies: the API takes JSON, never anything large without a dedicated upload path.
DATA_UPLOAD_MAX_MEMORY_SIZE = int(os.environ.get("DATA_UPLOAD_MAX_MEMORY_SIZE", 1024 * 1024))
DATA_UPLOAD_MAX_NUMBER_FIELDS = 1000

# Security: on by default, off only when DEBUG is asked for (plain-HTTP development server).
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", default=not DEBUG)
# Load balancers and container health checks probe over plain HTTP from inside.
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SESSION_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_SECURE = not DEBUG
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_AGE = int(os.environ.get("SESSION_COOKIE_AGE", 8 * 3600))
# Sessions are read from the cache (Redis) and written through to the database, so a signed-in
# page costs no session query; a session the cache lost is read back from its row.
SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
SECURE_HSTS_SECONDS = 0 if DEBUG else int(os.environ.get("SECURE_HSTS_SECONDS", 31536000))
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", default=not DEBUG)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# Addresses of reverse proxies whose X-Forwarded-For may be believed for the audit IP.
TRUSTED_PROXIES = env_list("TRUSTED_PROXIES")

# E-mail. Production sets EMAIL_URL, read by dj-email-url: smtp://user:password@host:25,
# submission://user:password@host (port 587, STARTTLS), ?tls=1 for STARTTLS on another port,
# ?ssl=1 for implicit TLS (465), ?timeout=10 in seconds; quote special characters in the user
# and password (%40 for "@"). Without EMAIL_URL every message is written as a file under
# var/mail/, which is the demo's outbox. Tests use Django's in-memory outbox.
EMAIL_URL = os.environ.get("EMAIL_URL", "")


def _email_settings(url: str) -> dict[str, object]:
    if not url:
        return {
            "EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
            "EMAIL_FILE_PATH": str(VAR_DIR / "mail"),
        }
    scheme, separator, _rest = url.partition("://")
    if not separator or scheme not in {"smtp", "submission", "submit"}:
        raise ImproperlyConfigured(
            f"EMAIL_URL must start with smtp:// or submission://, got {scheme!r}."
        )
    parsed = dj_email_url.parse(url)
    # An address without user or password leaves them None; Django wants empty strings.
    return {
        name: ("" if value is None and name != "EMAIL_TIMEOUT" else value)
        for name, value in parsed.items()
        if name not in {"EMAIL_FILE_PATH", "SERVER_EMAIL", "DEFAULT_FROM_EMAIL"}
    }


globals().update(_email_settings(EMAIL_URL))
# The sender when a brand has no support address of its own; SERVER_EMAIL writes to admins.
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "Atlas Capital <no-reply@localhost>")
SERVER_EMAIL = os.environ.get("SERVER_EMAIL", DEFAULT_FROM_EMAIL)
EMAIL_SUBJECT_PREFIX = os.environ.get("EMAIL_SUBJECT_PREFIX", "[brokercrm] ")

# The client portal. A portal sign-in is a client token kept in the session, so "log out
# everywhere" and staff ending a client's sessions end portal sessions too; the token's life
# is the absolute limit, PORTAL_IDLE_SECONDS the idle one.
PORTAL_IDLE_SECONDS = int(os.environ.get("PORTAL_IDLE_SECONDS", 30 * 60))
# /b/<brand>/ in front of portal paths, so one host shows every brand (the demo, tests).
PORTAL_BRAND_PREFIX = env_bool("PORTAL_BRAND_PREFIX", default=True)
LOCALE_PATHS = [BASE_DIR / "locale"]
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:", "blob:"],
        "media-src": ["'self'", "blob:"],
        "connect-src": ["'self'"],
        "font-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "frame-ancestors": ["'none'"],
        # The PSP's hosted payment page is another origin: only links and redirects go there.
        "form-action": ["'self'"],
    }
}

# How long a client login's API token lives from issue (seconds).
CLIENT_TOKEN_TTL = int(os.environ.get("CLIENT_TOKEN_TTL", 12 * 3600))

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # Token first: an anonymous API call then gets 401 with a WWW-Authenticate header.
        "brokercrm.accounts.api.authentication.ExpiringTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["brokercrm.api.parsers.JSONParser"],
    "DEFAULT_PAGINATION_CLASS": "brokercrm.api.pagination.Pagination",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "brokercrm.api.exceptions.exception_handler",
    "DEFAULT_VERSIONING_CLASS": None,
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
if DEBUG:
    REST_FRAMEWORK["DEFAULT_RENDERER_CLASSES"].append(
        "rest_framework.renderers.BrowsableAPIRenderer"
    )

SPECTACULAR_SETTINGS = {
    "TITLE": "brokercrm API",
    "DESCRIPTION": "Back office API of brokercrm: entities, clients, KYC, wallets, payments.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "ENUM_NAME_OVERRIDES": {
        "CurrencyEnum": "brokercrm.reference.CURRENCY_CHOICES",
        "CountryEnum": "brokercrm.reference.COUNTRY_CHOICES",
        "LegalEntityStatusEnum": "entities.models.LegalEntity.Status",
        "BrandStatusEnum": "entities.models.Brand.Status",
        "RuleSetKindEnum": "entities.models.RuleSet.Kind",
        "KycDocumentKindEnum": "kyc.models.KycDocument.Kind",
        "KycCheckKindEnum": "kyc.models.KycCheck.Kind",
        "WithdrawalDecisionEnum": "payments.api.serializers.WITHDRAWAL_DECISIONS",
        "DepositStatusEnum": "payments.models.Deposit.Status",
        "WithdrawalStatusEnum": "payments.models.Withdrawal.Status",
        "WithdrawalLegStatusEnum": "payments.models.WithdrawalLeg.Status",
        "IbPartnerStatusEnum": "ib.models.IbPartner.Status",
        "ClientProfileStatusEnum": "identity.choices.ProfileStatus",
        "ReferralReviewStatusEnum": "ib.models.ReferralReview.Status",
        "ReferralReviewDecisionEnum": "ib.services.management.REVIEW_DECISIONS",
        "TradingAccountKindEnum": "platforms.api.client.ACCOUNT_KINDS",
        "TransferEndpointKindEnum": "platforms.api.client.ENDPOINT_KINDS",
        "TransferQuoteKindEnum": "platforms.quote_models.TransferQuote.Kind",
    },
}

# Celery: Redis broker; the unix-socket form of REDIS_URL becomes kombu's redis+socket://.
CELERY_BROKER_URL = (
    "redis+socket://" + REDIS_URL.removeprefix("unix://")
    if REDIS_URL.startswith("unix://")
    else REDIS_URL
)
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

# The back office's theme (django-unfold). The sidebar is built per request from the work-queue
# registry, so each staff member sees their queues with live counts.
UNFOLD = {
    "SITE_TITLE": "brokercrm",
    "SITE_HEADER": "brokercrm back office",
    "SITE_SUBHEADER": "Staff",
    "SITE_URL": None,
    "SITE_SYMBOL": "account_balance",
    "SHOW_HISTORY": True,
    "SHOW_VIEW_ON_SITE": False,
    "BORDER_RADIUS": "4px",
    "STYLES": ["brokercrm.backoffice.site.stylesheet"],
    "SIDEBAR": {
        "show_search": True,
        "show_all_applications": True,
        "navigation": "brokercrm.backoffice.site.navigation",
    },
    "COLORS": {
        "primary": {
            "50": "oklch(97.0% .014 254.604)",
            "100": "oklch(93.2% .032 255.585)",
            "200": "oklch(88.2% .059 254.128)",
            "300": "oklch(80.9% .105 251.813)",
            "400": "oklch(70.7% .165 254.624)",
            "500": "oklch(62.3% .214 259.815)",
            "600": "oklch(54.6% .245 262.881)",
            "700": "oklch(48.8% .243 264.376)",
            "800": "oklch(42.4% .199 265.638)",
            "900": "oklch(37.9% .146 265.522)",
            "950": "oklch(28.2% .091 267.935)",
        },
    },
}
# How long the sidebar's queue counts are reused before they are counted again.
BACKOFFICE_COUNTS_SECONDS = int(os.environ.get("BACKOFFICE_COUNTS_SECONDS", 20))
