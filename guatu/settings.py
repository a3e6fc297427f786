"""guatu settings: one module, configured by GUATU_* environment variables."""

import os
import sys
from decimal import Decimal
from pathlib import Path

import dj_database_url
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("GUATU_VAR_DIR", BASE_DIR / "var"))
NODE_MODULES = Path(os.environ.get("GUATU_NODE_MODULES", BASE_DIR / "node_modules"))


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


TESTING = "pytest" in sys.modules or os.environ.get("GUATU_TESTING") == "1"
DEBUG = env_bool("GUATU_DEBUG", False)
# A production deployment (behind HTTPS): secure cookies, HSTS, and a second factor required for the
# project office and the three administrators. Off by default so that `make demo` runs on plain HTTP.
PRODUCTION = env_bool("GUATU_PRODUCTION", False)
# 等保 level 3: a second factor (TOTP) for the accounts that can change the whole system.
REQUIRE_2FA = env_bool("GUATU_REQUIRE_2FA", PRODUCTION)
SECRET_KEY = os.environ.get("GUATU_SECRET_KEY", "guatu-insecure-development-key-change-me-in-production")
ALLOWED_HOSTS = env_list("GUATU_ALLOWED_HOSTS", "127.0.0.1,localhost,testserver")
CSRF_TRUSTED_ORIGINS = env_list("GUATU_CSRF_TRUSTED_ORIGINS", "")

# The city this deployment serves (GB/T 2260 code).
CITY_CODE = os.environ.get("GUATU_CITY_CODE", "211300")
IMPORT_MAX_BYTES = int(os.environ.get("GUATU_IMPORT_MAX_BYTES", str(10 * 1024 * 1024)))
# Imports with more rows than this run as a background job with a progress bar.
IMPORT_BACKGROUND_ROWS = int(os.environ.get("GUATU_IMPORT_BACKGROUND_ROWS", "200"))
# Largest site photo a monthly report accepts (bytes).
PHOTO_MAX_BYTES = int(os.environ.get("GUATU_PHOTO_MAX_BYTES", str(5 * 1024 * 1024)))
DEMO_PASSWORD = os.environ.get("GUATU_DEMO_PASSWORD", "guatu-demo-2022")

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI served from here, not a CDN an intranet may block
    "django_filters",
    "django_htmx",
    "django_tables2",
    "django_tasks",
    "django_tasks_db",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "guatu.core",
    "guatu.accounts",
    "guatu.org",
    "guatu.projects",
    "guatu.progress",
    "guatu.targets",
    "guatu.problems",
    "guatu.attraction",
    "guatu.speeches",
    "guatu.dashboard",
    "guatu.demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "guatu.core.middleware.LanguageMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "guatu.accounts.middleware.SecurityPolicyMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "guatu.core.middleware.RequestIdMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "guatu.urls"
WSGI_APPLICATION = "guatu.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "guatu" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
                "guatu.problems.context_processors.notifications",
            ],
        },
    }
]


def _database(url: str) -> dict:
    config = dj_database_url.parse(url, conn_max_age=0 if TESTING else 60, conn_health_checks=True)
    if config["ENGINE"] == "django.db.backends.sqlite3":
        # WAL lets readers go on while one writer writes; IMMEDIATE takes the write lock at BEGIN,
        # so two writers queue instead of failing with "database is locked" mid-transaction.
        config["OPTIONS"] = {
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;",
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
        }
        config.pop("CONN_HEALTH_CHECKS", None)
        config["CONN_MAX_AGE"] = 0
    return config


_default_url = f"sqlite:///{VAR_DIR / 'guatu.sqlite3'}"
_database_url = os.environ.get("GUATU_DATABASE_URL", _default_url)
if TESTING and os.environ.get("GUATU_TEST_DATABASE_URL"):
    _database_url = os.environ["GUATU_TEST_DATABASE_URL"]
DATABASES = {"default": _database(_database_url)}
# Reads that tolerate replication lag (dashboard, rankings) may go to a read replica; the router sends
# them there only inside guatu.core.db_router.lagging_reads(), every other read and all writes to default.
if TESTING:
    # Tests exercise the router against a mirror: a second alias and connection on the test database
    # itself, never a real replica. Only the tests that need the router switch it on.
    DATABASES["replica"] = {**_database(_database_url), "TEST": {"MIRROR": "default"}}
    if DATABASES["replica"]["ENGINE"] == "django.db.backends.sqlite3":
        # On SQLite's shared in-memory test database the mirror must not queue behind the write lock
        # of the test's transaction on default: a deferred BEGIN, and reads without table read-locks.
        _options = DATABASES["replica"]["OPTIONS"] = dict(DATABASES["replica"]["OPTIONS"])
        _options.pop("transaction_mode")
        _options["init_command"] += " PRAGMA read_uncommitted=1;"
elif os.environ.get("GUATU_READ_DATABASE_URL"):
    DATABASES["replica"] = _database(os.environ["GUATU_READ_DATABASE_URL"])
    DATABASE_ROUTERS = ["guatu.core.db_router.ReadReplicaRouter"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"  # each role starts on its own page
LOGOUT_REDIRECT_URL = "login"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
if TESTING:
    # Argon2 is deliberately slow; tests hash hundreds of passwords.
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher", *PASSWORD_HASHERS]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "guatu.accounts.validators.MinimumLengthValidator", "OPTIONS": {"min_length": 8}},
    {"NAME": "guatu.accounts.validators.ComplexityValidator", "OPTIONS": {"min_classes": 3}},
    {"NAME": "guatu.accounts.validators.HistoryValidator"},
]
# The security administrator sets both (accounts.SecurityPolicy; 5 failures, 30 minutes by default).
AXES_FAILURE_LIMIT = "guatu.accounts.security.failure_limit"
AXES_COOLOFF_TIME = "guatu.accounts.security.cool_off"
AXES_LOCKOUT_CALLABLE = "guatu.accounts.security.lockout_response"
AXES_LOCKOUT_PARAMETERS = ["username"]
AXES_RESET_ON_SUCCESS = True
SILENCED_SYSTEM_CHECKS = ["axes.W006"]  # 等保: lock the account, whatever address the attempts come from
AXES_ENABLED = not TESTING or env_bool("GUATU_AXES_IN_TESTS", False)

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "guatu" / "locale"]
TIME_ZONE = os.environ.get("GUATU_TIME_ZONE", "Asia/Shanghai")
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # whitenoise warns on every start without it
# Front-end packages are installed by npm (package-lock.json) and served from node_modules;
# none are committed.
STATICFILES_DIRS = [
    BASE_DIR / "guatu" / "static",
    ("vendor/tabler", NODE_MODULES / "@tabler" / "core" / "dist"),
    ("vendor/echarts", NODE_MODULES / "echarts" / "dist"),
    ("vendor/htmx", NODE_MODULES / "htmx.org" / "dist"),
]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG or TESTING
        else "whitenoise.storage.CompressedStaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = True
# Without autorefresh whitenoise scans every static file at start-up: slow for tests and runserver.
WHITENOISE_AUTOREFRESH = DEBUG or TESTING
MEDIA_ROOT = VAR_DIR / "media"
MEDIA_URL = "/media/"
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = IMPORT_MAX_BYTES + 1024 * 1024

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["guatu.core.api.RestrictedPermission"],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "guatu.core.pagination.DeferredJoinLimitOffsetPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "guatu.core.api.exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "guatu API",
    "DESCRIPTION": "重点项目建设调度平台 (挂图作战) API",
    "VERSION": "0.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

TASKS = {
    "default": {
        "BACKEND": "django_tasks.backends.immediate.ImmediateBackend"
        if TESTING or env_bool("GUATU_TASKS_IMMEDIATE", False)
        else "django_tasks_db.DatabaseBackend",
        "QUEUES": ["default"],
    }
}

# Idle timeout: every request renews the session for the security policy's idle minutes (10 by
# default; the security administrator sets 1 to 30 on the 安全策略 page). This is the age before login.
SESSION_COOKIE_AGE = 10 * 60
SESSION_SAVE_EVERY_REQUEST = True
# 等保: audit and login records are kept at least 180 days; `guatu audit_purge` archives older ones.
# Read as text: `guatu audit_purge` refuses, in words, a value that is not a whole number of 180 or more.
AUDIT_RETENTION_DAYS = os.environ.get("GUATU_AUDIT_RETENTION_DAYS", "180")

# --- notifications
# E-mail: SMTP once GUATU_EMAIL_HOST names a server; otherwise (development, the demo) the console.
EMAIL_HOST = os.environ.get("GUATU_EMAIL_HOST", "")
EMAIL_BACKEND = os.environ.get(
    "GUATU_EMAIL_BACKEND",
    "django.core.mail.backends.smtp.EmailBackend"
    if EMAIL_HOST and not DEBUG
    else "django.core.mail.backends.console.EmailBackend",
)
EMAIL_PORT = int(os.environ.get("GUATU_EMAIL_PORT", "25"))
EMAIL_HOST_USER = os.environ.get("GUATU_EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("GUATU_EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("GUATU_EMAIL_USE_TLS", False)
EMAIL_TIMEOUT = 30
DEFAULT_FROM_EMAIL = os.environ.get("GUATU_DEFAULT_FROM_EMAIL", "guatu@localhost")
# Absolute links in e-mails start with this.
SITE_URL = os.environ.get("GUATU_SITE_URL", "http://127.0.0.1:8000")

# --- problems and the 直通车
# Largest attachment a problem accepts (bytes); PDF, Word (docx), Excel (xlsx), JPG and PNG only.
ATTACHMENT_MAX_BYTES = int(os.environ.get("GUATU_ATTACHMENT_MAX_BYTES", str(10 * 1024 * 1024)))
# 项目管家: every project of this 总投资 (万元) or more must have one; 代办 requests are due in this many
# working days.
GUATU_STEWARD_THRESHOLD = Decimal(os.environ.get("GUATU_STEWARD_THRESHOLD", "5000"))
GUATU_AGENCY_SERVICE_DAYS = int(os.environ.get("GUATU_AGENCY_SERVICE_DAYS", "10"))
# 招商 screening: a lead needing more land (亩) or energy (吨标准煤 a year) than this cannot be signed.
GUATU_LEAD_MAX_LAND_MU = Decimal(os.environ.get("GUATU_LEAD_MAX_LAND_MU", "1000"))
GUATU_LEAD_MAX_ENERGY_TCE = Decimal(os.environ.get("GUATU_LEAD_MAX_ENERGY_TCE", "50000"))
# The war map's big screen reloads itself this often (seconds).
GUATU_SCREEN_REFRESH_SECONDS = int(os.environ.get("GUATU_SCREEN_REFRESH_SECONDS", "300"))
# Speeches: a file larger than this is refused before it is read.
GUATU_SPEECH_MAX_BYTES = int(os.environ.get("GUATU_SPEECH_MAX_BYTES", str(20 * 1024 * 1024)))

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("GUATU_LOG_LEVEL", "WARNING")},
}

APP_NAME = _("挂图作战")

# A filter left empty means "all", and says so.
FILTERS_EMPTY_CHOICE_LABEL = _("全部")

# --- security headers
# 等保 2.0 level 3. Every script is a static file, so scripts run from this origin only: no inline
# script, no eval. Styles allow inline: templates put per-row widths and heights in style attributes
# (progress bars, the Gantt chart) and Swagger UI's page carries a <style>; a style cannot run code.
# Swagger UI itself is served by SpectacularSwaggerSplitView, whose script is a separate request.
from csp.constants import NONE, SELF, UNSAFE_INLINE  # noqa: E402

INSTALLED_APPS = [*INSTALLED_APPS, "csp"]
MIDDLEWARE.insert(
    MIDDLEWARE.index("django.middleware.security.SecurityMiddleware") + 1, "csp.middleware.CSPMiddleware"
)
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF, UNSAFE_INLINE],
        "img-src": [SELF, "data:", "blob:"],  # Tabler's icons are data: SVGs; chart downloads are blobs
        "font-src": [SELF, "data:"],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"  # no path of an internal page leaks to another site
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
SESSION_COOKIE_HTTPONLY = True
# htmx sends the CSRF token from the page's hx-headers; no script reads the cookie.
CSRF_COOKIE_HTTPONLY = True
if PRODUCTION:
    # The development key is public (it is in this file): a production server must not start with it.
    if SECRET_KEY == "guatu-insecure-development-key-change-me-in-production" or len(SECRET_KEY) < 50:
        from django.core.exceptions import ImproperlyConfigured

        raise ImproperlyConfigured(
            "生产环境必须设置 GUATU_SECRET_KEY：至少 50 个字符的随机串，不能用开发默认值"
        )
    # Served over HTTPS only (behind the city's proxy, which terminates TLS).
    SECURE_SSL_REDIRECT = env_bool("GUATU_SSL_REDIRECT", True)
    SECURE_HSTS_SECONDS = int(os.environ.get("GUATU_HSTS_SECONDS", str(365 * 24 * 3600)))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("GUATU_HSTS_INCLUDE_SUBDOMAINS", True)
    SECURE_HSTS_PRELOAD = env_bool("GUATU_HSTS_PRELOAD", True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    # "X-Forwarded-Proto: https": the header (and value) by which the proxy says the request came over
    # HTTPS. Set it only when such a proxy strips that header from what clients send.
    if _proxy_ssl := os.environ.get("GUATU_PROXY_SSL_HEADER", "").strip():
        _header, _, _value = _proxy_ssl.partition(":")
        SECURE_PROXY_SSL_HEADER = (
            "HTTP_" + _header.strip().upper().replace("-", "_"),
            _value.strip() or "https",
        )
