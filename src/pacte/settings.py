"""Django settings for Pacte, read from the environment.

Every setting an operator may change is an environment variable with the ``PACTE_`` prefix (plus the
conventional ``DATABASE_URL``). Nothing else in Pacte reads the environment at import time: apps read
their own settings lazily through their ``app_settings.py``.

The embedded default (no variable set) keeps everything under ``var/`` (or ``$PACTE_HOME``): three
SQLite files for the ``default``, ``keys`` and ``telemetry`` databases, the generated secret key and the
generated master key.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent
PROJECT_DIR = BASE_DIR.parent.parent


def _env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _env_list(name: str, default: list[str]) -> list[str]:
    value = os.environ.get(name)
    if not value:
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


# "embedded" (one box, generated secrets under PACTE_HOME) or "production" (every secret must be given).
PACTE_MODE = os.environ.get("PACTE_MODE", "embedded").strip().lower()
PACTE_PRODUCTION = PACTE_MODE == "production"


def _pacte_home() -> Path:
    """Where Pacte keeps its files, the same whatever folder it is started from.

    PACTE_HOME when set; otherwise ``var/`` of the source checkout Pacte runs from (where `make run`
    puts it); otherwise, for an installed package, ``$XDG_DATA_HOME/pacte`` (``~/.local/share/pacte``).
    """
    if os.environ.get("PACTE_HOME"):
        return Path(os.environ["PACTE_HOME"]).expanduser().resolve()
    if (PROJECT_DIR / "pyproject.toml").exists() and (PROJECT_DIR / "src" / "pacte").is_dir():
        return PROJECT_DIR / "var"
    data = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return (Path(data) / "pacte").resolve()


PACTE_HOME = _pacte_home()
# Everything Pacte writes (SQLite files and their -wal/-shm, keys, the mail spool, exports) is for the
# user running it alone, whatever the umask it was started with: files 0600, folders 0700.
os.umask(0o077)
PACTE_HOME.mkdir(mode=0o700, parents=True, exist_ok=True)
(PACTE_HOME / "static").mkdir(mode=0o700, exist_ok=True)

DEBUG = _env_bool("PACTE_DEBUG", False)


def _secret_key() -> str:
    value = os.environ.get("PACTE_SECRET_KEY")
    if value:
        return value
    if PACTE_PRODUCTION:
        # Refuse to start rather than run production on a key nobody chose.
        raise ImproperlyConfigured(
            "PACTE_SECRET_KEY is not set. In production mode Pacte needs a secret key: "
            "set PACTE_SECRET_KEY to a long random string (e.g. `python -c 'import secrets; "
            "print(secrets.token_urlsafe(50))'`)."
        )
    path = PACTE_HOME / "secret.key"
    if not path.exists() and (PACTE_HOME / "pacte.sqlite3").exists():
        # Sessions, sign-in links and unsubscribe tokens of those databases were signed with the lost key.
        raise ImproperlyConfigured(
            f"{PACTE_HOME} holds Pacte's databases but not their secret.key: put it back (or set "
            "PACTE_SECRET_KEY), or check that PACTE_HOME names the folder Pacte was installed with."
        )
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(50))
    return path.read_text().strip()


SECRET_KEY = _secret_key()

ALLOWED_HOSTS = _env_list("PACTE_ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = _env_list("PACTE_CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",  # allauth's session and passkey pages use its tags
    "django_tasks",
    "django_tasks_db",
    "pacte.core",
    "pacte.policy",
    "pacte.subjects",
    "pacte.vault",
    "pacte.ledger",
    # --- accounts: Pacte's app first so that its templates override allauth's ---
    "pacte.accounts",
    "pacte.consent",
    "pacte.rights",
    "pacte.messaging",
    "pacte.sharing",
    "pacte.commerce",
    "pacte.telemetry",
    "pacte.billing",
    "pacte.api",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "pacte.accounts.usersessions.UserSessionsConfig",  # allauth.usersessions, with Pacte's sign-in receiver
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "pacte.core.middleware.SecurityHeadersMiddleware",
    # Page views and diagnostics, off the request path (telemetry/middleware.py); sees every final response.
    "pacte.telemetry.middleware.TelemetryMiddleware",
    # Every cookie a response sets must be declared by the policy (fails in DEBUG and tests, logged otherwise).
    "pacte.consent.middleware.UndeclaredCookieMiddleware",
    "pacte.vault.middleware.VaultScopeMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "pacte.accounts.middleware.UserSessionsMiddleware",  # allauth's, throttled to once a minute
    "pacte.accounts.middleware.StaffMFARequiredMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "pacte.core.middleware.PacteErrorMiddleware",
]

ROOT_URLCONF = "pacte.urls"
# Messages ("Confirmation e-mail sent to …") live in the session, never in a cookie of their own: the
# policy declares every cookie Pacte sets, and a message may name a person.
MESSAGE_STORAGE = "django.contrib.messages.storage.session.SessionStorage"
WSGI_APPLICATION = "pacte.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "pacte.policy.context_processors.pacte",
                "pacte.consent.context_processors.banner",
            ],
        },
    },
]

# Inputs, textareas and selects are written in Python (same HTML as Django's widget templates, without
# the template engine); every other widget goes to Django's own templates.
FORM_RENDERER = "pacte.core.renderers.FormRenderer"

# --- Databases -----------------------------------------------------------------------------------
# Three aliases from day one. The key store lives apart so that a backup of the data never holds the
# keys that decrypt it; telemetry lives apart so that no foreign key can join a visit to a person.


def _database(url_var: str, sqlite_name: str) -> dict:
    url = os.environ.get(url_var)
    config: dict
    if url:
        config = dict(
            dj_database_url.parse(url, conn_max_age=int(os.environ.get("PACTE_DB_CONN_MAX_AGE", "60")))
        )
    else:
        config = {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(PACTE_HOME / sqlite_name),
            # Keep each process's connection: opening a SQLite file and setting its pragmas costs more
            # than most queries.
            "CONN_MAX_AGE": None,
            "OPTIONS": {
                # WAL lets the web server, the worker and the scheduler read while one writes;
                # IMMEDIATE transactions take the write lock up front instead of failing half-way.
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
                # secure_delete: a deleted row's bytes are overwritten, not left in free pages.
                "init_command": (
                    "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON; "
                    "PRAGMA secure_delete=ON;"
                ),
            },
        }
    if config["ENGINE"].endswith("sqlite3"):
        config.setdefault("TEST", {})["NAME"] = None  # in-memory test databases
    return config


DATABASES = {
    "default": _database("DATABASE_URL", "pacte.sqlite3"),
    "keys": _database("PACTE_KEYS_DATABASE_URL", "keys.sqlite3"),
    "telemetry": _database("PACTE_TELEMETRY_DATABASE_URL", "telemetry.sqlite3"),
}
DATABASE_ROUTERS = ["pacte.core.routers.PacteRouter"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

TASKS = {
    "default": {
        "BACKEND": os.environ.get("PACTE_TASKS_BACKEND", "django_tasks_db.DatabaseBackend"),
        "QUEUES": ["default"],
    }
}

# "default" holds what every process and every machine must agree on: login and form rate limits,
# lockouts. It is a table of the default database (created by core's migration), so the embedded
# default needs nothing more; several machines may point it at Redis instead. "local" is a per-process
# cache for what may differ between processes (how recently a session's "last seen" was written).
CACHES = {
    "default": {
        "BACKEND": "pacte.core.cache.DatabaseCache",  # one statement per write (core/cache.py)
        "LOCATION": "pacte_cache",
        "OPTIONS": {"MAX_ENTRIES": 100_000},
    },
    "local": {
        "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
        "LOCATION": "pacte",
    },
}
if os.environ.get("PACTE_REDIS_URL"):
    CACHES["default"] = {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": os.environ["PACTE_REDIS_URL"],
    }

# --- Accounts (django-allauth) ---------------------------------------------------------------------
# allauth only ever sees pseudonym addresses; see pacte/accounts/models.py and docs/adr/0001.
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
ACCOUNT_ADAPTER = "pacte.accounts.adapter.AccountAdapter"
ACCOUNT_USER_DISPLAY = "pacte.accounts.adapter.user_display_name"  # a person's own name, or nothing
ACCOUNT_FORMS = {
    "signup": "pacte.accounts.forms.SignupForm",
    "login": "pacte.accounts.forms.LoginForm",
    "reset_password": "pacte.accounts.forms.ResetPasswordForm",
}
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_USER_MODEL_EMAIL_FIELD = "email"
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*"]
ACCOUNT_EMAIL_VERIFICATION = "mandatory"
ACCOUNT_PREVENT_ENUMERATION = True
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = False
ACCOUNT_EMAIL_NOTIFICATIONS = True
# One address per account; a new one replaces it once verified, and the old one is told.
ACCOUNT_CHANGE_EMAIL = True
ACCOUNT_REAUTHENTICATION_REQUIRED = True
ACCOUNT_EMAIL_SUBJECT_PREFIX = ""
# 10 wrong passwords a minute per client address, 10 per 5 minutes per account: the 11th is refused.
ACCOUNT_RATE_LIMITS = {"login_failed": "10/m/ip,10/5m/key"}
MFA_ADAPTER = "pacte.accounts.adapter.MFAAdapter"
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes", "webauthn"]
MFA_PASSKEY_LOGIN_ENABLED = True
MFA_WEBAUTHN_ALLOW_INSECURE_ORIGIN = DEBUG
USERSESSIONS_TRACK_ACTIVITY = True
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "/account/"
ACCOUNT_LOGOUT_REDIRECT_URL = "/"

# --- Passwords -----------------------------------------------------------------------------------
PASSWORD_HASHERS = [
    "pacte.core.hashers.PacteArgon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 8}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

# --- Languages -----------------------------------------------------------------------------------
LANGUAGE_CODE = "fr"
LANGUAGES = [("fr", _("French")), ("en", _("English"))]
LOCALE_PATHS: list[str] = []  # each app keeps its own catalogue in <app>/locale/
USE_I18N = True
TIME_ZONE = os.environ.get("PACTE_TIME_ZONE", "Europe/Paris")
USE_TZ = True

# --- Static files --------------------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = PACTE_HOME / "static"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True

# --- Security ------------------------------------------------------------------------------------
# Cookies are Secure whenever Pacte is told it is behind TLS (PACTE_HTTPS=1), always HttpOnly for the
# session, SameSite=Lax. HSTS is sent only over TLS: sending it over plain HTTP would be ignored anyway.
PACTE_HTTPS = _env_bool("PACTE_HTTPS", PACTE_PRODUCTION)
SESSION_COOKIE_SECURE = PACTE_HTTPS
CSRF_COOKIE_SECURE = PACTE_HTTPS
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = True
CSRF_COOKIE_SAMESITE = "Lax"
LANGUAGE_COOKIE_SECURE = PACTE_HTTPS
LANGUAGE_COOKIE_HTTPONLY = True
LANGUAGE_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_AGE = 60 * 60 * 24 * 14
X_FRAME_OPTIONS = "DENY"
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
if PACTE_HTTPS:
    SECURE_HSTS_SECONDS = int(os.environ.get("PACTE_HSTS_SECONDS", str(60 * 60 * 24 * 365)))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = _env_bool("PACTE_SSL_REDIRECT", True)
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]

# --- Email ---------------------------------------------------------------------------------------
EMAIL_BACKEND = os.environ.get("PACTE_EMAIL_BACKEND", "django.core.mail.backends.filebased.EmailBackend")
EMAIL_FILE_PATH = str(PACTE_HOME / "sent-mail")
EMAIL_HOST = os.environ.get("PACTE_EMAIL_HOST", "localhost")
EMAIL_PORT = int(os.environ.get("PACTE_EMAIL_PORT", "25"))
EMAIL_HOST_USER = os.environ.get("PACTE_EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("PACTE_EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = _env_bool("PACTE_EMAIL_USE_TLS", False)
DEFAULT_FROM_EMAIL = os.environ.get("PACTE_DEFAULT_FROM_EMAIL", "Pacte <no-reply@localhost>")
# Links in e-mails (unsubscribe, confirmations) point here; mailto unsubscribe goes to this address.
PACTE_BASE_URL = os.environ.get("PACTE_BASE_URL", "http://127.0.0.1:8000")
PACTE_UNSUBSCRIBE_MAILTO = os.environ.get("PACTE_UNSUBSCRIBE_MAILTO", "unsubscribe@localhost")

# --- Logging: no personal data, no secrets. ---------------------------------------------------------
# Paths carry reset keys, tokens and subject ids: every record passes RedactPathsFilter (ids → ":id",
# tokens → ":token", addresses → ":email"). Django's own loggers go to the same filtered handler only, so
# its unfiltered ones (console in DEBUG, mail_admins) never see a raw path. The access log is gunicorn's,
# through pacte.core.accesslog.RedactingLogger (no client address, no query string, no header).
_LOG_LEVEL = os.environ.get("PACTE_LOG_LEVEL", "INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"redact_paths": {"()": "pacte.core.accesslog.RedactPathsFilter"}},
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "plain", "filters": ["redact_paths"]}
    },
    "root": {"handlers": ["console"], "level": _LOG_LEVEL},
    "loggers": {
        "django": {"handlers": ["console"], "level": _LOG_LEVEL, "propagate": False},
        "django.server": {"handlers": ["console"], "level": "INFO", "propagate": False},
        "django.db.backends": {"level": "WARNING"},
    },
}

# --- Pacte ---------------------------------------------------------------------------------------
# The policy file the running system obeys. Only pacte.policy reads it (see policy/app_settings.py).
PACTE_POLICY_FILE = os.environ.get("PACTE_POLICY", str(PROJECT_DIR / "policies" / "plusuite.toml"))
# Visit statistics (pacte.telemetry): MaxMind-format files the operator supplies for country/region and
# provider; none by default (those columns stay empty, and the staff page says so). Never looked up remotely.
PACTE_GEOIP_CITY_DB = os.environ.get("PACTE_GEOIP_CITY_DB", "")
PACTE_GEOIP_ASN_DB = os.environ.get("PACTE_GEOIP_ASN_DB", "")
