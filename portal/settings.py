"""Enclave's one settings module, configured entirely by environment variables.

Defaults give the embedded mode (SQLite, a filesystem Celery broker, console
mail, local cloud stand-ins); ``ENCLAVE_ENV=production`` fails closed on unsafe
values (see ``portal.checks`` and the guard at the bottom of this file).
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import environ

env = environ.Env()

BASE_DIR = Path(__file__).resolve().parent.parent
RUN_DIR = Path(env.str("ENCLAVE_RUN_DIR", default=str(BASE_DIR / ".run")))

ENCLAVE_ENV = env.str("ENCLAVE_ENV", default="development")
if ENCLAVE_ENV not in {"development", "production", "test"}:
    raise RuntimeError(f"ENCLAVE_ENV must be development, production or test, not {ENCLAVE_ENV!r}")
PRODUCTION = ENCLAVE_ENV == "production"

DEV_SECRET_KEY = "enclave-insecure-development-key-do-not-use-in-production"  # noqa: S105 - refused in production
SECRET_KEY = env.str("SECRET_KEY", default=DEV_SECRET_KEY)
DEBUG = env.bool("DEBUG", default=False)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=[] if PRODUCTION else ["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
ENCLAVE_BASE_URL = env.str("ENCLAVE_BASE_URL", default="http://127.0.0.1:8000")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_htmx",
    "rest_framework",
    "drf_spectacular",
    "django_celery_beat",
    "allauth",
    "allauth.account",
    "allauth.socialaccount",
    "allauth.socialaccount.providers.openid_connect",
    "allauth.socialaccount.providers.saml",
    "allauth.mfa",
    "axes",
    "portal",
    "audit",
    "catalog",
    "workspaces",
    "approvals",
]

MIDDLEWARE = [
    "portal.middleware.HealthCheckMiddleware",
    "portal.middleware.RequestContextMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "csp.middleware.CSPMiddleware",
    "portal.identity.csp.SSOFormActionMiddleware",  # inside CSPMiddleware: adds the IdPs to form-action
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "portal.middleware.SessionTimeoutMiddleware",  # after messages: it tells the user why they were signed out
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "portal.mfa.MFARequiredMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "axes.middleware.AxesMiddleware",
    # Last, so its process_view sees the resolved path values and its process_exception runs first.
    "portal.errors.MalformedInputMiddleware",
]
CSRF_FAILURE_VIEW = "portal.errors.csrf_failure"

ROOT_URLCONF = "portal.urls"
# Each app's dashboard panels, in the order the dashboard shows them (see portal.selectors).
DASHBOARD_PANELS = (
    "catalog.selectors.dashboard_panels",
    "workspaces.selectors.dashboard_panels",
    "approvals.selectors.dashboard_panels",
    "audit.selectors.dashboard_panels",
)
WSGI_APPLICATION = "portal.wsgi.application"
AUTH_USER_MODEL = "portal.User"

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
                "portal.context_processors.enclave",
            ],
        },
    }
]

# --- Database -----------------------------------------------------------------
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{RUN_DIR / 'enclave.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # IMMEDIATE takes the write lock at BEGIN, so concurrent writers queue instead of
    # failing with "database is locked" on lock upgrade; the audit chain relies on it.
    DATABASES["default"].setdefault("OPTIONS", {}).update({"transaction_mode": "IMMEDIATE", "timeout": 20})
else:
    DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("DB_CONN_MAX_AGE", default=60))
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
# Parallel test runs on one server need distinct test databases. On SQLite the default stays
# in memory (a TEST NAME there would be a file in the working directory).
_TEST_DB_NAME = env.str("ENCLAVE_TEST_DB_NAME", default="")
if _TEST_DB_NAME or DATABASES["default"]["ENGINE"] != "django.db.backends.sqlite3":
    DATABASES["default"]["TEST"] = {"NAME": _TEST_DB_NAME or "test_enclave"}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache (axes, rate limits) ----------------------------------------------------
REDIS_URL = env.str("REDIS_URL", default="")
CACHES = {
    "default": (
        {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
        if REDIS_URL
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    )
}

# --- Authentication ---------------------------------------------------------------
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "dashboard"
LOGOUT_REDIRECT_URL = "account_login"

# Local (password) login: only the embedded demo and a break-glass admin with MFA.
ENCLAVE_LOCAL_LOGIN = env.bool("ENCLAVE_LOCAL_LOGIN", default=not PRODUCTION)
# "demo": any user with a password (embedded demo); "break-glass": only users flagged break_glass who
# have TOTP (and allauth then asks for the code). Production accepts only "break-glass".
ENCLAVE_LOCAL_LOGIN_POLICY = env.str("ENCLAVE_LOCAL_LOGIN_POLICY", default="demo")  # must be explicit in production
if ENCLAVE_LOCAL_LOGIN_POLICY not in {"demo", "break-glass"}:
    raise RuntimeError(f"ENCLAVE_LOCAL_LOGIN_POLICY must be demo or break-glass, not {ENCLAVE_LOCAL_LOGIN_POLICY!r}")
ENCLAVE_MFA_REQUIRED_ROLES = env.list("ENCLAVE_MFA_REQUIRED_ROLES", default=["approver", "catalog_admin"])
ENCLAVE_MFA_TRUST_IDP_AMR = env.list("ENCLAVE_MFA_TRUST_IDP_AMR", default=["mfa", "otp", "hwk", "swk"])
ENCLAVE_MFA_TRUST_IDP_ACR = env.list("ENCLAVE_MFA_TRUST_IDP_ACR", default=[])
# Roles from IdP groups, re-applied at every login: "idp-group=role,idp-group=role".
ENCLAVE_ROLE_GROUP_CLAIM = env.str("ENCLAVE_ROLE_GROUP_CLAIM", default="groups")
ENCLAVE_ROLE_MAPPING = env.dict(
    "ENCLAVE_ROLE_MAPPING",
    default={
        "enclave-data-scientists": "data_scientist",
        "enclave-approvers": "approver",
        "enclave-catalog-admins": "catalog_admin",
        "enclave-auditors": "auditor",
    },
)

ACCOUNT_LOGIN_METHODS = {"username"}
ACCOUNT_SIGNUP_FIELDS = ["username*", "password1*", "password2*"]
ACCOUNT_ADAPTER = "portal.identity.AccountAdapter"
ACCOUNT_EMAIL_VERIFICATION = "none"
# The IdP's subject is the identity, not the email (no email login, no sign-up): two IdP users may
# share an address, and a conflict must not drop an SSO user into allauth's sign-up form.
ACCOUNT_UNIQUE_EMAIL = False
ACCOUNT_LOGOUT_ON_GET = False
ACCOUNT_SESSION_REMEMBER = False
# Sign-in attempts per client address, and failed ones per address and per username (429 past them).
ACCOUNT_RATE_LIMITS = {
    "login": env.str("ENCLAVE_LOGIN_RATE", default="30/m/ip"),
    "login_failed": "5/5m/ip,5/5m/key",
}
# Refusals (failed token authentication, CSRF failure, lock-out, rate limit) are audited, at most this many
# per kind per source address per minute and this many per kind overall; then one summary event.
ENCLAVE_REFUSAL_AUDIT_PER_MINUTE = env.int("ENCLAVE_REFUSAL_AUDIT_PER_MINUTE", default=10)
ENCLAVE_REFUSAL_AUDIT_GLOBAL_PER_MINUTE = env.int("ENCLAVE_REFUSAL_AUDIT_GLOBAL_PER_MINUTE", default=200)
# Re-authentication (before adding/removing MFA) by password or an existing authenticator, never by a
# code e-mailed to the user; a sign-in within the window also counts (portal.identity.AccountAdapter).
ACCOUNT_REAUTHENTICATION_METHODS = ["password", "mfa"]
SOCIALACCOUNT_ADAPTER = "portal.identity.SocialAccountAdapter"
SOCIALACCOUNT_ONLY = False
SOCIALACCOUNT_STORE_TOKENS = False
SOCIALACCOUNT_LOGIN_ON_GET = False
SOCIALACCOUNT_EMAIL_AUTHENTICATION = False


def _oidc_providers() -> tuple[list[dict[str, object]], dict[str, dict[str, object]]]:
    """ENCLAVE_OIDC_PROVIDERS=keycloak,entra and ENCLAVE_OIDC_<ID>_{NAME,ISSUER,CLIENT_ID,CLIENT_SECRET,
    TOKEN_AUTH_METHOD,SCOPES,SUBJECT_CLAIM,GROUPS_CLAIM,ROLE_MAPPING,MFA_AMR,MFA_ACR,GROUPS_OVERAGE}
    (docs/sso.md). Returns allauth's apps and Enclave's per-provider identity settings."""
    apps: list[dict[str, object]] = []
    identity: dict[str, dict[str, object]] = {}
    for provider_id in env.list("ENCLAVE_OIDC_PROVIDERS", default=[]):
        prefix = f"ENCLAVE_OIDC_{provider_id.upper().replace('-', '_')}_"
        apps.append(
            {
                "provider_id": provider_id,
                "name": env.str(prefix + "NAME", default=provider_id.title()),
                "client_id": env.str(prefix + "CLIENT_ID"),
                "secret": env.str(prefix + "CLIENT_SECRET", default=""),
                "settings": {
                    "server_url": env.str(prefix + "ISSUER"),
                    "oauth_pkce_enabled": True,
                    "token_auth_method": env.str(prefix + "TOKEN_AUTH_METHOD", default="client_secret_basic"),
                    "scope": list(
                        dict.fromkeys(["openid", "profile", "email", *env.list(prefix + "SCOPES", default=[])])
                    ),
                },
            }
        )
        overage = env.str(prefix + "GROUPS_OVERAGE", default="refuse")
        if overage != "refuse":
            raise RuntimeError(f"{prefix}GROUPS_OVERAGE must be 'refuse' (Graph resolution is not built yet)")
        identity[provider_id] = {
            "subject_claim": env.str(prefix + "SUBJECT_CLAIM", default="sub"),
            "groups_claim": env.str(prefix + "GROUPS_CLAIM", default=ENCLAVE_ROLE_GROUP_CLAIM),
            "role_mapping": env.dict(prefix + "ROLE_MAPPING", default=ENCLAVE_ROLE_MAPPING),
            "mfa_amr": env.list(prefix + "MFA_AMR", default=ENCLAVE_MFA_TRUST_IDP_AMR),
            "mfa_acr": env.list(prefix + "MFA_ACR", default=ENCLAVE_MFA_TRUST_IDP_ACR),
            "groups_overage": overage,
        }
    return apps, identity


def _saml_providers() -> tuple[list[dict[str, object]], dict[str, dict[str, object]]]:
    """ENCLAVE_SAML_PROVIDERS=corp and ENCLAVE_SAML_<ID>_{NAME,IDP_ENTITY_ID,IDP_SSO_URL,IDP_X509CERT,
    IDP_METADATA_URL,SP_ENTITY_ID,ATTR_UID,ATTR_USERNAME,ATTR_EMAIL,ATTR_NAME,GROUPS_ATTR,ROLE_MAPPING};
    the id is the URL slug (/accounts/saml/<id>/metadata/ is the SP metadata to give the IdP). Groups
    come from the attribute GROUPS_ATTR (default ENCLAVE_ROLE_GROUP_CLAIM), mapped by ROLE_MAPPING
    (default ENCLAVE_ROLE_MAPPING). allauth keys every SAML organisation's accounts as provider
    ``saml``, so the group settings are those of provider ``saml`` and must agree between
    organisations. Returns allauth's apps and Enclave's identity settings."""
    apps: list[dict[str, object]] = []
    identity: dict[str, dict[str, object]] = {}
    for org in env.list("ENCLAVE_SAML_PROVIDERS", default=[]):
        prefix = f"ENCLAVE_SAML_{org.upper().replace('-', '_')}_"
        metadata_url = env.str(prefix + "IDP_METADATA_URL", default="")
        idp: dict[str, str] = {"entity_id": env.str(prefix + "IDP_ENTITY_ID")}
        if metadata_url:
            idp["metadata_url"] = metadata_url
        else:
            idp["sso_url"] = env.str(prefix + "IDP_SSO_URL")
            idp["x509cert"] = env.str(prefix + "IDP_X509CERT")
        mapping = {
            "uid": env.str(prefix + "ATTR_UID", default="http://schemas.microsoft.com/identity/claims/objectidentifier"),
            "username": env.str(prefix + "ATTR_USERNAME", default="http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name"),
            "email": env.str(prefix + "ATTR_EMAIL", default="http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress"),
            "name": env.str(prefix + "ATTR_NAME", default="http://schemas.microsoft.com/identity/claims/displayname"),
        }  # fmt: skip
        apps.append(
            {
                "provider_id": "saml",
                "client_id": org,
                "name": env.str(prefix + "NAME", default=org.title()),
                "settings": {
                    "idp": idp,
                    "sp": {"entity_id": env.str(prefix + "SP_ENTITY_ID", default="")},
                    "attribute_mapping": mapping,
                    "advanced": {
                        "want_assertion_signed": True,
                        "want_message_signed": False,
                        "reject_deprecated_algorithm": True,
                        "strict": True,
                    },
                },
            }
        )
        own: dict[str, object] = {
            "groups_claim": env.str(prefix + "GROUPS_ATTR", default=ENCLAVE_ROLE_GROUP_CLAIM),
            "role_mapping": env.dict(prefix + "ROLE_MAPPING", default=ENCLAVE_ROLE_MAPPING),
        }
        if identity and identity["saml"] != own:
            raise RuntimeError(f"{prefix}GROUPS_ATTR/ROLE_MAPPING must equal the other SAML organisations' settings")
        identity["saml"] = own
    return apps, identity


_OIDC_APPS, ENCLAVE_SSO_PROVIDERS = _oidc_providers()
_SAML_APPS, _SAML_IDENTITY = _saml_providers()
ENCLAVE_SSO_PROVIDERS = {**ENCLAVE_SSO_PROVIDERS, **_SAML_IDENTITY}
SOCIALACCOUNT_PROVIDERS = {
    "openid_connect": {"OAUTH_PKCE_ENABLED": True, "APPS": _OIDC_APPS},
    "saml": {"APPS": _SAML_APPS},
}

# The provider whose identities carry the Entra object id (oid) an Azure ML compute instance is
# assigned to; no other IdP's oid claim is ever used for that.
ENCLAVE_ENTRA_PROVIDER = env.str("ENCLAVE_ENTRA_PROVIDER", default="")
# CA bundle for TLS to the IdPs (discovery, JWKS, token, userinfo); empty = the system's.
ENCLAVE_SSO_CA_BUNDLE = env.str("ENCLAVE_SSO_CA_BUNDLE", default="")
# How long discovery documents and JWKS stay cached (an unknown key id re-fetches the JWKS).
ENCLAVE_OIDC_METADATA_CACHE_SECONDS = env.int("ENCLAVE_OIDC_METADATA_CACHE_SECONDS", default=3600)

MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_ISSUER = "Enclave"
# Email is not an authentication factor here (no email login or recovery), so an IdP that does not
# send email_verified must not stop an approver from adding TOTP.
MFA_ALLOW_UNVERIFIED_EMAIL = True

AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("AXES_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_VERBOSE = False
AXES_LOCKOUT_TEMPLATE = "portal/locked_out.html"

# --- Sessions and HTTP hardening ---------------------------------------------------
SESSION_IDLE_TIMEOUT_SECONDS = env.int("SESSION_IDLE_TIMEOUT_MINUTES", default=15) * 60
SESSION_ABSOLUTE_SECONDS = env.int("SESSION_ABSOLUTE_HOURS", default=10) * 3600
SESSION_COOKIE_AGE = SESSION_ABSOLUTE_SECONDS
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = True
SECURE_COOKIES = env.bool("SECURE_COOKIES", default=PRODUCTION)
SESSION_COOKIE_SECURE = SECURE_COOKIES
CSRF_COOKIE_SECURE = SECURE_COOKIES
SESSION_COOKIE_NAME = "__Host-enclave_session" if SECURE_COOKIES else "enclave_session"
CSRF_COOKIE_NAME = "__Host-enclave_csrf" if SECURE_COOKIES else "enclave_csrf"
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=PRODUCTION)
BEHIND_PROXY = env.bool("BEHIND_PROXY", default=False)  # trust X-Forwarded-For/-Proto from the proxy in front
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if BEHIND_PROXY else None
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000 if PRODUCTION else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SILENCED_SYSTEM_CHECKS: list[str] = []

from csp.constants import NONE, SELF  # noqa: E402

CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        # The configured IdPs' authorization endpoints are added per response
        # (portal.identity.csp); CSP_FORM_ACTION_EXTRA is only an override for anything else.
        "form-action": [SELF, *env.list("CSP_FORM_ACTION_EXTRA", default=[])],
        "frame-ancestors": [NONE],
        "object-src": [NONE],
        "base-uri": [NONE],
    }
}

# --- Static files, i18n -------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = Path(env.str("STATIC_ROOT", default=str(BASE_DIR / "staticfiles")))
STATICFILES_DIRS = [BASE_DIR / "static"]
WHITENOISE_USE_FINDERS = not PRODUCTION
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
LANGUAGE_CODE = "en-gb"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Email ---------------------------------------------------------------------------
EMAIL_CONFIG = env.email_url("EMAIL_URL", default="consolemail://")
vars().update(EMAIL_CONFIG)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Enclave <enclave@localhost>")
# The demo mail catcher's mailbox page (scripts/run.sh sets it); linked from the footer outside production.
ENCLAVE_DEMO_MAILBOX_URL = env.str("ENCLAVE_DEMO_MAILBOX_URL", default="")

# --- Celery ----------------------------------------------------------------------------
CELERY_BROKER_URL = REDIS_URL or "filesystem://"
# The broker carries hints, the database the truth (docs/operations.md, "Durable work"): the
# visibility timeout (1 h) is far longer than any countdown the code uses (≤ 300 s), so Redis never
# redelivers a waiting task early; a task held by a dead worker is re-sent by the sweeper within
# minutes instead. A dead broker must fail a publish fast (2 s), never hang a web request.
CELERY_BROKER_VISIBILITY_TIMEOUT = env.int("CELERY_BROKER_VISIBILITY_TIMEOUT", default=3600)
CELERY_BROKER_CONNECTION_TIMEOUT = env.float("CELERY_BROKER_CONNECTION_TIMEOUT", default=2.0)
CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, object] = (
    {
        "visibility_timeout": CELERY_BROKER_VISIBILITY_TIMEOUT,
        "socket_connect_timeout": CELERY_BROKER_CONNECTION_TIMEOUT,
    }
    if REDIS_URL
    else {
        "data_folder_in": str(RUN_DIR / "broker"),
        "data_folder_out": str(RUN_DIR / "broker"),
        "processed_folder": str(RUN_DIR / "broker-processed"),
        "store_processed": False,
    }
)
CELERY_TASK_DEFAULT_QUEUE = env.str("CELERY_QUEUE", default="enclave")
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=120)
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=180)
CELERY_TASK_ALWAYS_EAGER = False
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_TIMEZONE = "UTC"

# --- Clouds (credentials never here: they come from the host's identity/environment) ---
AWS_REGION = env.str("AWS_REGION", default="eu-west-1")
ENCLAVE_AWS_ENDPOINT_URL = env.str("ENCLAVE_AWS_ENDPOINT_URL", default="")
ENCLAVE_AZURE_ARM_ENDPOINT = env.str("ENCLAVE_AZURE_ARM_ENDPOINT", default="")
ENCLAVE_AZURE_CA_BUNDLE = env.str("ENCLAVE_AZURE_CA_BUNDLE", default="")
ENCLAVE_AZURE_STATIC_TOKEN = env.str("ENCLAVE_AZURE_STATIC_TOKEN", default="")
# Azure ML workspaces reconciliation lists: "subscription/resource-group/workspace,..." or ARM ids.
ENCLAVE_AZURE_WORKSPACES = env.str("ENCLAVE_AZURE_WORKSPACES", default="")
ENCLAVE_AZURE_STUDIO_URL = env.str("ENCLAVE_AZURE_STUDIO_URL", default="https://ml.azure.com")
AZURE_TENANT_ID = env.str("AZURE_TENANT_ID", default="")
ENCLAVE_WORKSPACE_TIMEOUT_MINUTES = env.int("ENCLAVE_WORKSPACE_TIMEOUT_MINUTES", default=30)
ENCLAVE_WORKSPACE_POLL_MAX_SECONDS = env.int("ENCLAVE_WORKSPACE_POLL_MAX_SECONDS", default=30)
ENCLAVE_NOTEBOOK_SESSION_SECONDS = env.int("ENCLAVE_NOTEBOOK_SESSION_SECONDS", default=1800)
# Durable work: an in-flight item whose task has not reported back this long after it was due is
# re-sent by the sweeper (beat, every ENCLAVE_SWEEP_EVERY_MINUTES); at most ENCLAVE_SWEEP_BATCH a run.
ENCLAVE_SWEEP_GRACE_SECONDS = env.int("ENCLAVE_SWEEP_GRACE_SECONDS", default=90)
ENCLAVE_SWEEP_EVERY_MINUTES = env.int("ENCLAVE_SWEEP_EVERY_MINUTES", default=1)
ENCLAVE_SWEEP_BATCH = env.int("ENCLAVE_SWEEP_BATCH", default=200)
# Reconciliation calls a resource missing only after a second definitive not-found this much later.
ENCLAVE_MISSING_CONFIRM_SECONDS = env.int("ENCLAVE_MISSING_CONFIRM_SECONDS", default=180)

# --- Data-access approvals: reminders, escalation, time-outs, expiry warnings -------------
ENCLAVE_APPROVAL_REMIND_AFTER_HOURS = env.int("ENCLAVE_APPROVAL_REMIND_AFTER_HOURS", default=24)
ENCLAVE_APPROVAL_ESCALATE_AFTER_HOURS = env.int("ENCLAVE_APPROVAL_ESCALATE_AFTER_HOURS", default=48)
# What a leaver's (SCIM active=false or DELETE) workspaces become: stopped (disk kept) or deleted.
ENCLAVE_LEAVER_WORKSPACE_ACTION = env.str("ENCLAVE_LEAVER_WORKSPACE_ACTION", default="stop")
ENCLAVE_APPROVAL_FALLBACK_GROUP = env.str("ENCLAVE_APPROVAL_FALLBACK_GROUP", default="approval_fallback")
ENCLAVE_APPROVAL_TIMEOUT_HOURS = env.int("ENCLAVE_APPROVAL_TIMEOUT_HOURS", default=120)
ENCLAVE_GRANT_EXPIRY_WARNING_HOURS = env.int("ENCLAVE_GRANT_EXPIRY_WARNING_HOURS", default=4)
ENCLAVE_APPROVAL_LINK_MAX_AGE_DAYS = env.int("ENCLAVE_APPROVAL_LINK_MAX_AGE_DAYS", default=14)

# --- Audit trail anchoring: signed checkpoints in write-once storage (docs/audit.md) -------
# Sink: "s3" (Object Lock, production), "directory" (write-once files; the demo) or "none" (tests).
ENCLAVE_AUDIT_ANCHOR_SINK = env.str(
    "ENCLAVE_AUDIT_ANCHOR_SINK", default="s3" if PRODUCTION else ("none" if ENCLAVE_ENV == "test" else "directory")
)
ENCLAVE_AUDIT_ANCHOR_DIR = env.str("ENCLAVE_AUDIT_ANCHOR_DIR", default=str(RUN_DIR / "audit-anchors"))
ENCLAVE_AUDIT_ANCHOR_BUCKET = env.str("ENCLAVE_AUDIT_ANCHOR_BUCKET", default="")
ENCLAVE_AUDIT_ANCHOR_PREFIX = env.str("ENCLAVE_AUDIT_ANCHOR_PREFIX", default="enclave-audit/")
ENCLAVE_AUDIT_ANCHOR_RETENTION_DAYS = env.int("ENCLAVE_AUDIT_ANCHOR_RETENTION_DAYS", default=2557)  # 7 years
ENCLAVE_AUDIT_ANCHOR_LOCK_MODE = env.str("ENCLAVE_AUDIT_ANCHOR_LOCK_MODE", default="COMPLIANCE")
ENCLAVE_AUDIT_ANCHOR_CREATE_BUCKET = env.bool("ENCLAVE_AUDIT_ANCHOR_CREATE_BUCKET", default=not PRODUCTION)
# Ed25519 private key: a PEM file (production: a mounted secret) or PEM/base64 seed in the environment.
ENCLAVE_AUDIT_SIGNING_KEY_FILE = env.str("ENCLAVE_AUDIT_SIGNING_KEY_FILE", default="")
ENCLAVE_AUDIT_SIGNING_KEY = env.str("ENCLAVE_AUDIT_SIGNING_KEY", default="")
ENCLAVE_AUDIT_CHECKPOINT_STALE_MINUTES = env.int("ENCLAVE_AUDIT_CHECKPOINT_STALE_MINUTES", default=5)

# --- API --------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "portal.api_auth.PersonalTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_PAGINATION_CLASS": "portal.pagination.KeysetPagination",  # ?limit= (50, max 200) & ?cursor=
    "PAGE_SIZE": 50,
    "DEFAULT_RENDERER_CLASSES": ["portal.renderers.ORJSONRenderer"],
    # State-changing calls per user and per client address (reads are not throttled): 429 + Retry-After.
    "DEFAULT_THROTTLE_CLASSES": ["portal.throttling.UserWriteThrottle", "portal.throttling.IPWriteThrottle"],
    "DEFAULT_THROTTLE_RATES": {
        "user_writes": env.str("ENCLAVE_API_WRITE_RATE_USER", default="120/min"),
        "ip_writes": env.str("ENCLAVE_API_WRITE_RATE_IP", default="300/min"),
    },
    "EXCEPTION_HANDLER": "portal.api_errors.exception_handler",
}
ENCLAVE_API_SCHEMA_PUBLIC = env.bool("ENCLAVE_API_SCHEMA_PUBLIC", default=False)
SPECTACULAR_SETTINGS = {
    "TITLE": "Enclave API",
    "DESCRIPTION": "Self-service secure ML workspaces and time-bound production-data access.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # The schema is for users with a role; ENCLAVE_API_SCHEMA_PUBLIC=true publishes it to anyone.
    "SERVE_PERMISSIONS": ["portal.api_permissions.SchemaReader"],
    # One name for the data-classification choices wherever they appear (workspaces, datasets).
    "ENUM_NAME_OVERRIDES": {"ClassificationEnum": "workspaces.models.Classification"},
}

# --- Logging: JSON lines through structlog, carrying the request/correlation id ----------
LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
LOG_FORMAT = env.str("LOG_FORMAT", default="json")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "structured": {"()": "portal.logging.make_formatter", "fmt": LOG_FORMAT},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "structured"}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "botocore": {"level": "WARNING"},
        "azure": {"level": "WARNING"},
    },
}

# --- Fail closed in production -------------------------------------------------------------
if PRODUCTION:
    _problems = []
    if DEBUG:
        _problems.append("DEBUG must be off")
    if SECRET_KEY == DEV_SECRET_KEY or len(SECRET_KEY) < 50:
        _problems.append("SECRET_KEY must be set to a long random value")
    if not ALLOWED_HOSTS:
        _problems.append("ALLOWED_HOSTS must be set")
    if ENCLAVE_LOCAL_LOGIN and ENCLAVE_LOCAL_LOGIN_POLICY != "break-glass":
        _problems.append(
            "ENCLAVE_LOCAL_LOGIN is on: in production local login is only for break-glass admins with MFA "
            "(set ENCLAVE_LOCAL_LOGIN_POLICY=break-glass to accept that, and MFA is then enforced)"
        )
    if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
        _problems.append("DATABASE_URL must point at PostgreSQL")
    if not REDIS_URL:
        _problems.append("REDIS_URL must be set")
    if _problems:
        raise RuntimeError("Refusing to start in production: " + "; ".join(_problems))

# --- Test profile (ENCLAVE_ENV=test, set by tests/settings.py) ----------------------------
if ENCLAVE_ENV == "test":
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # speed only; never outside tests
    CELERY_BROKER_URL = REDIS_URL or "memory://"
    CELERY_BROKER_TRANSPORT_OPTIONS = {"socket_connect_timeout": CELERY_BROKER_CONNECTION_TIMEOUT} if REDIS_URL else {}
    WHITENOISE_AUTOREFRESH = True
