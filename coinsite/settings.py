"""CoinSite settings: one file, read from the environment.

Defaults serve development. `DATABASE_URL` and `REDIS_URL` name the PostgreSQL and
Redis servers; `make run` and `make test` export the embedded ones when these are unset.
"""

from pathlib import Path

import environ
from celery.schedules import crontab
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

from coinsite import production

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DJANGO_DEBUG", default=True)
# The development key starts "django-insecure-", so `manage.py check --deploy` flags a production
# configuration that forgot to set DJANGO_SECRET_KEY.
SECRET_KEY = env("DJANGO_SECRET_KEY", default=production.DEV_SECRET_KEY)
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])
SITE_URL = env("SITE_URL", default="http://127.0.0.1:8000")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django.contrib.sites",
    "allauth",
    "allauth.account",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_filters",
    "django_celery_beat",
    "csp",
    "channels",
    "wallet",
    "creators",
    "gifts",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "coinsite.security.ContentSecurityPolicyMiddleware",
    "coinsite.security.StaticFilesMiddleware",  # WhiteNoise, async-capable
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
]

ROOT_URLCONF = "coinsite.urls"
WSGI_APPLICATION = "coinsite.wsgi.application"
ASGI_APPLICATION = "coinsite.asgi.application"

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
                "wallet.context_processors.wallet",
            ],
        },
    },
]

DATABASES = {
    "default": env.db_url("DATABASE_URL", default="postgres://postgres@127.0.0.1:5432/coinsite"),
}
# 0 under ASGI: each request runs its sync view on a fresh thread, so a persistent connection
# would be left open per thread until the server runs out of connection slots.
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DB_CONN_MAX_AGE", default=0)
# DB_POOL_SIZE > 0: a pool of that many connections per process (psycopg_pool), which requests
# borrow and give back, instead of a new connection per request. The Procfile's web server
# sets it; Celery workers fork, so they keep plain connections (a pool's threads do not
# survive a fork).
DB_POOL_SIZE = env.int("DB_POOL_SIZE", default=0)
if DB_POOL_SIZE:
    DATABASES["default"]["CONN_MAX_AGE"] = 0  # a pool and persistent connections exclude each other
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": min(2, DB_POOL_SIZE),
        "max_size": DB_POOL_SIZE,
        "timeout": env.float("DB_POOL_TIMEOUT", default=10.0),
    }
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
# Each test runner (and each parallel developer) can name its own test database.
DATABASES["default"]["TEST"] = {"NAME": env("TEST_DATABASE_NAME", default="test_coinsite")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env("REDIS_URL", default="redis://127.0.0.1:6379/0")

# A dead or hung Redis must fail fast: money moves through PostgreSQL alone, so pages and
# payments keep working while the cache answers as empty (coinsite/cache.py) and live updates
# pause (coinsite/channel_layer.py, gifts/live_updates.py).
REDIS_CONNECT_TIMEOUT = env.float("REDIS_CONNECT_TIMEOUT", default=0.5)
REDIS_SOCKET_TIMEOUT = env.float("REDIS_SOCKET_TIMEOUT", default=0.5)

CACHES = {
    "default": {
        "BACKEND": "coinsite.cache.FailSoftRedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": env("CACHE_KEY_PREFIX", default="coinsite"),
        "OPTIONS": {"socket_connect_timeout": REDIS_CONNECT_TIMEOUT, "socket_timeout": REDIS_SOCKET_TIMEOUT},
    }
}

CHANNEL_LAYERS = {
    "default": {
        "BACKEND": "coinsite.channel_layer.RedisChannelLayer",
        "CONFIG": {
            # socket_timeout must stay above the layer's 1 s blocking receive (see channel_layer.py).
            "hosts": [{"address": REDIS_URL, "socket_connect_timeout": 1, "socket_timeout": 3}],
            "prefix": env("CHANNELS_PREFIX", default="coinsite"),
        },
    }
}

CELERY_BROKER_URL = env("CELERY_BROKER_URL", default=REDIS_URL)
CELERY_RESULT_BACKEND = None
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_DEFAULT_QUEUE = env("CELERY_QUEUE", default="coinsite")
# Socket timeouts: a publish to a hung broker gives up in seconds (coinsite.tasks logs it and
# the periodic tasks catch up) instead of hanging; 3 s stays above kombu's 1 s BRPOP wait.
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": 3600,
    "socket_connect_timeout": 1,
    "socket_timeout": 3,
}
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_TIMEZONE = "UTC"

AUTH_USER_MODEL = "wallet.User"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
PASSWORD_HASHERS = env.list(
    "PASSWORD_HASHERS",
    default=[
        "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    ],
)

SITE_ID = 1
LOGIN_REDIRECT_URL = "/me/"
ACCOUNT_LOGOUT_REDIRECT_URL = "/"
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_EMAIL_VERIFICATION = env("ACCOUNT_EMAIL_VERIFICATION", default="optional")
ACCOUNT_SIGNUP_FORM_CLASS = "wallet.forms.SignupForm"
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
# allauth's rate limits (per client address; "key" is the email address). Failed log-ins per
# address are the brute-force guard, shared by the log-in page and POST /api/v1/auth/token/.
ACCOUNT_RATE_LIMITS = {
    "login": env("ACCOUNT_RATE_LIMIT_LOGIN", default="120/m/ip"),
    "login_failed": env("ACCOUNT_RATE_LIMIT_LOGIN_FAILED", default="30/m/ip,5/300s/key"),
    "signup": env("ACCOUNT_RATE_LIMIT_SIGNUP", default="60/m/ip"),
    "reset_password": env("ACCOUNT_RATE_LIMIT_RESET_PASSWORD", default="20/m/ip,5/m/key"),
}
EMAIL_BACKEND = env("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="CoinSite <noreply@coinsite.local>")

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
# hls.js and other browser packages from npm (package.json; `make media` runs `npm ci`).
STATICFILES_FINDERS = [
    "django.contrib.staticfiles.finders.FileSystemFinder",
    "django.contrib.staticfiles.finders.AppDirectoriesFinder",
    "coinsite.vendor_static.NpmFileFinder",
]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True
# Uploaded premium files live outside any public URL; views check access and stream them.
MEDIA_ROOT = Path(env("MEDIA_ROOT", default=str(BASE_DIR / "var" / "media")))

# Live video: the media server (nginx-rtmp) that `python -m tools.devservices up` starts and
# describes in var/services.env (coinsite/media_server.py). No MEDIA_RTMP_URL: no live video.
MEDIA_RTMP_URL = env("MEDIA_RTMP_URL", default="")
MEDIA_HLS_URL = env("MEDIA_HLS_URL", default="")
MEDIA_CONTROL_URL = env("MEDIA_CONTROL_URL", default="")
MEDIA_UNAVAILABLE = env("MEDIA_UNAVAILABLE", default="")
# The publish callbacks carry it in their query string; no secret configured: every callback is refused.
MEDIA_CALLBACK_SECRET = env("MEDIA_CALLBACK_SECRET", default="")
# A stream that drops and publishes again within this many seconds keeps its live session.
LIVE_RECONNECT_GRACE_SECONDS = env.float("LIVE_RECONNECT_GRACE_SECONDS", default=10.0)

# How many proxies of ours add to X-Forwarded-For in front of the app. 0: the header is
# ignored and rate limits count REMOTE_ADDR, so a client cannot forge its address.
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)
ALLAUTH_TRUSTED_PROXY_COUNT = TRUSTED_PROXY_COUNT

REST_FRAMEWORK = {
    # Token first: an anonymous API call is a 401 with WWW-Authenticate (not a bare 403).
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "coinsite.api.authentication.TokenAuthentication",
        "coinsite.api.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticatedOrReadOnly"],
    "DEFAULT_PAGINATION_CLASS": "coinsite.api.pagination.PagePagination",
    "PAGE_SIZE": 50,
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
    "DEFAULT_METADATA_CLASS": None,  # OPTIONS is a 405 like any undocumented method
    # Counted per user (per client address when signed out) on unsafe methods only. Generous
    # defaults so load tests with 64 clients are not throttled; an empty value turns a scope off.
    "DEFAULT_THROTTLE_CLASSES": ["coinsite.api.throttling.ScopedThrottle"],
    "DEFAULT_THROTTLE_RATES": {
        "auth_token": env("API_THROTTLE_AUTH_TOKEN", default="120/min") or None,
        "purchases": env("API_THROTTLE_PURCHASES", default="60/min") or None,
        "gifts": env("API_THROTTLE_GIFTS", default="6000/min") or None,
        "spending": env("API_THROTTLE_SPENDING", default="600/min") or None,
    },
    "NUM_PROXIES": TRUSTED_PROXY_COUNT,
    "DEFAULT_SCHEMA_CLASS": "coinsite.api.schema.AutoSchema",
    "EXCEPTION_HANDLER": "coinsite.api.errors.exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "CoinSite API",
    "VERSION": "1.0.0",
    "DESCRIPTION": (
        "Coins, gifts, premium posts, merch and creator earnings. Authenticate with "
        "`Authorization: Token <token>` (POST /api/v1/auth/token/) or the site's session cookie "
        "(unsafe requests then need the X-CSRFToken header). Every error is "
        '`{"code", "message", "extra"}`. Every money-moving POST takes an `Idempotency-Key`.'
    ),
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": r"/api/v[0-9]+",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "PurchaseStatusEnum": "wallet.models.CoinPurchase.Status",
        "CheckoutStatusEnum": "wallet.api.views.CHECKOUT_STATUSES",
        "OrderStatusEnum": "creators.models.Order.Status",
        "LiveSessionStatusEnum": "gifts.models.LiveSession.Status",
    },
    # coinsite.api.converters.ObjectIdConverter: 1 to 18 digits.
    "PATH_CONVERTER_OVERRIDES": {"api_id": {"type": "integer", "minimum": 0, "maximum": 10**18 - 1}},
    "SWAGGER_UI_SETTINGS": {"deepLinking": True, "validatorUrl": None},
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# Stripe: the SDK talks to localstripe offline (STRIPE_API_BASE) or to Stripe's test mode.
STRIPE_SECRET_KEY = env("STRIPE_SECRET_KEY", default="sk_test_localstripe")
STRIPE_PUBLISHABLE_KEY = env("STRIPE_PUBLISHABLE_KEY", default="pk_test_localstripe")
STRIPE_WEBHOOK_SECRET = env("STRIPE_WEBHOOK_SECRET", default=production.DEV_WEBHOOK_SECRET)
STRIPE_API_BASE = env("STRIPE_API_BASE", default="http://127.0.0.1:8420")
STRIPE_JS_URL = env(
    "STRIPE_JS_URL",
    default=(STRIPE_API_BASE.rstrip("/") + "/js.stripe.com/v3/")
    if "api.stripe.com" not in STRIPE_API_BASE
    else "https://js.stripe.com/v3/",
)
STRIPE_WEBHOOK_TOLERANCE_SECONDS = env.int("STRIPE_WEBHOOK_TOLERANCE_SECONDS", default=300)
# Versions from 2026-09-30 refuse `payment_method_types`, which the card flow (and localstripe) needs.
STRIPE_API_VERSION = env("STRIPE_API_VERSION", default="2026-07-29.dahlia")
PURCHASE_ABANDON_MINUTES = env.int("PURCHASE_ABANDON_MINUTES", default=60)
RECONCILE_FIRST_LOOKBACK_HOURS = env.int("RECONCILE_FIRST_LOOKBACK_HOURS", default=72)

# Economy
COIN_CURRENCY = env("COIN_CURRENCY", default="usd")
DIAMOND_VALUE_MILLICENTS = env.int("DIAMOND_VALUE_MILLICENTS", default=500)
CREATOR_SHARE_PERCENT = env.int("CREATOR_SHARE_PERCENT", default=50)
MINIMUM_AGE_TO_SPEND = env.int("MINIMUM_AGE_TO_SPEND", default=18)
# Applying, being approved and setting up payouts as a creator.
MINIMUM_AGE_TO_CREATE = env.int("MINIMUM_AGE_TO_CREATE", default=18)
DAILY_SPEND_CAP_COINS = env.int("DAILY_SPEND_CAP_COINS", default=500_000)
CUSTOM_COINS_MIN = env.int("CUSTOM_COINS_MIN", default=30)
CUSTOM_COINS_MAX = env.int("CUSTOM_COINS_MAX", default=250_000)
MINIMUM_PAYOUT_CENTS = env.int("MINIMUM_PAYOUT_CENTS", default=1000)
PAYOUT_APPROVAL_THRESHOLD_CENTS = env.int("PAYOUT_APPROVAL_THRESHOLD_CENTS", default=1_000_000)
ADJUSTMENT_APPROVAL_THRESHOLD_COINS = env.int("ADJUSTMENT_APPROVAL_THRESHOLD_COINS", default=10_000)
PAYOUT_PROVIDER = env("PAYOUT_PROVIDER", default="local")
# Earnings become payable this many days after they were credited, so a chargeback on the coins
# that funded them can still take them back before they are paid out.
EARNINGS_HOLD_DAYS = env.int("EARNINGS_HOLD_DAYS", default=14)
# Payout batches: a worker's claim on a payout runs out after this many seconds (a crashed
# worker's payout is then driven again by the next run, with the same idempotency key).
PAYOUT_LEASE_SECONDS = env.int("PAYOUT_LEASE_SECONDS", default=300)
# A payout run claims this many payouts per transaction and makes up to this many provider
# calls at once (each from its own thread and database connection).
PAYOUT_CLAIM_CHUNK = env.int("PAYOUT_CLAIM_CHUNK", default=32)
PAYOUT_PROVIDER_CONCURRENCY = env.int("PAYOUT_PROVIDER_CONCURRENCY", default=8)
# The offline `local` payout provider: in development its accounts verify themselves when they connect (it moves
# no real money), it refuses the listed destinations ("*" = every one), and it can be slowed.
LOCAL_PAYOUTS_AUTO_VERIFY = env.bool("LOCAL_PAYOUTS_AUTO_VERIFY", default=DEBUG)
LOCAL_PAYOUT_FAIL_DESTINATIONS = env.list("LOCAL_PAYOUT_FAIL_DESTINATIONS", default=[])
LOCAL_PAYOUT_DELAY_MS = env.int("LOCAL_PAYOUT_DELAY_MS", default=0)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

# Security headers, in development too (so tests see what production sends).
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
CSRF_COOKIE_HTTPONLY = True  # the pages' scripts read the token from the form, never the cookie
# Content-Security-Policy (django-csp): scripts, styles, fonts and connections only from this
# site; coinsite/security.py adds Stripe.js (STRIPE_JS_URL's origin) to script-src and
# connect-src, and its 3-D Secure frames in place of frame-src's 'none'. The CSP_REPORT_URI
# environment variable says where browsers report violations.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "frame-src": [NONE],
        "frame-ancestors": [NONE],
        "form-action": [SELF],
        "base-uri": [SELF],
        "object-src": [NONE],
        "report-uri": env("CSP_REPORT_URI", default="") or None,
    }
}

if not DEBUG:
    # TLS ends at the load balancer, which sets X-Forwarded-Proto.
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    # Load balancers probe health over plain HTTP inside the network.
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31_536_000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
else:
    SECURE_SSL_REDIRECT = False
    SECURE_HSTS_SECONDS = 0

# Last, once every setting is read: an unsafe combination stops every process at start-up.
_refusals = production.refusals(
    production.StartUpSettings(
        debug=DEBUG,
        secret_key=SECRET_KEY,
        allowed_hosts=ALLOWED_HOSTS,
        site_url=SITE_URL,
        stripe_secret_key=STRIPE_SECRET_KEY,
        stripe_publishable_key=STRIPE_PUBLISHABLE_KEY,
        stripe_webhook_secret=STRIPE_WEBHOOK_SECRET,
        stripe_api_base=STRIPE_API_BASE,
        payout_provider=PAYOUT_PROVIDER,
        local_payouts_auto_verify=LOCAL_PAYOUTS_AUTO_VERIFY,
        ssl_redirect=SECURE_SSL_REDIRECT,
        hsts_seconds=SECURE_HSTS_SECONDS,
    )
)
if _refusals:
    _mode = "DJANGO_DEBUG=true" if DEBUG else "DJANGO_DEBUG=false"
    raise ImproperlyConfigured(f"CoinSite refuses to start with {_mode}: " + " ".join(_refusals))

CELERY_BEAT_SCHEDULE = {
    "check-ledger": {
        "task": "wallet.tasks.check_ledger",
        "schedule": env.int("LEDGER_CHECK_SECONDS", default=600),
    },
    "roll-up-deferred-accounts": {
        "task": "wallet.tasks.roll_up_deferred_accounts",
        "schedule": env.int("ROLLUP_SECONDS", default=10),
    },
    "reconcile-stripe": {
        "task": "wallet.tasks.reconcile_stripe",
        "schedule": env.int("RECONCILE_STRIPE_SECONDS", default=600),
    },
    "roll-up-creator-earnings": {
        "task": "creators.tasks.roll_up_earnings",
        "schedule": env.int("EARNINGS_ROLLUP_SECONDS", default=30),
    },
    "retry-webhook-events": {
        "task": "wallet.tasks.retry_webhook_events",
        "schedule": env.int("RETRY_WEBHOOK_EVENTS_SECONDS", default=60),
    },
    "run-payout-batch": {
        "task": "creators.tasks.run_payout_batch",
        # Weekly: Mondays 06:00 UTC by default.
        "schedule": crontab(
            minute=env("PAYOUT_BATCH_MINUTE", default="0"),
            hour=env("PAYOUT_BATCH_HOUR", default="6"),
            day_of_week=env("PAYOUT_BATCH_DAY_OF_WEEK", default="mon"),
        ),
    },
    "end-streams-past-grace": {
        "task": "gifts.tasks.end_streams_past_grace",
        "schedule": env.int("END_STREAMS_SWEEP_SECONDS", default=30),
    },
    "drive-payout-batches": {
        "task": "creators.tasks.drive_payout_batches",
        "schedule": env.int("PAYOUT_DRIVE_SECONDS", default=300),
    },
}
