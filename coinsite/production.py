"""What CoinSite refuses to start with.

Production (`DJANGO_DEBUG=false`) refuses every development default that would let someone
forge sessions or webhooks, pay out without a real provider, or serve over plain HTTP.
Development (`DJANGO_DEBUG=true`) refuses live Stripe keys, so a laptop never takes real money.
`coinsite/settings.py` calls `refusals()` last and raises ImproperlyConfigured with the result,
so every process that loads the settings (manage.py, uvicorn, Celery worker and beat) stops
before it serves or runs anything. Each refusal names the environment variable to fix.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

DEV_SECRET_KEY = "django-insecure-dev-only-key-change-me-in-production-0123456789"
DEV_WEBHOOK_SECRET = "whsec_test_local"
# Django's own bar for a secret key (`check --deploy`, security.W009).
SECRET_KEY_MIN_LENGTH = 50
SECRET_KEY_MIN_UNIQUE_CHARACTERS = 5
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "testserver", "::1", "[::1]", ".localhost"})
LIVE_KEY_PREFIXES = ("sk_live_", "pk_live_", "rk_live_")
STRIPE_API = "https://api.stripe.com"
# Every secret in coinsite/production.env.example says this: a copy left unedited must not start.
PLACEHOLDER = "replace"


def is_placeholder(value: str) -> bool:
    return PLACEHOLDER in value.lower()


@dataclass(frozen=True)
class StartUpSettings:
    debug: bool
    secret_key: str
    allowed_hosts: Sequence[str]
    site_url: str
    stripe_secret_key: str
    stripe_publishable_key: str
    stripe_webhook_secret: str
    stripe_api_base: str
    payout_provider: str
    local_payouts_auto_verify: bool
    ssl_redirect: bool
    hsts_seconds: int


def refusals(values: StartUpSettings) -> list[str]:
    """One sentence per unsafe setting, each starting with the variable's name; empty when
    the settings may start."""
    if values.debug:
        live = [
            name
            for name, key in (
                ("STRIPE_SECRET_KEY", values.stripe_secret_key),
                ("STRIPE_PUBLISHABLE_KEY", values.stripe_publishable_key),
            )
            if key.startswith(LIVE_KEY_PREFIXES)
        ]
        return [f"{name}: CoinSite refuses live Stripe keys while DJANGO_DEBUG=true." for name in live]
    found: list[str] = []
    key = values.secret_key
    if (
        key == DEV_SECRET_KEY
        or is_placeholder(key)
        or key.startswith("django-insecure")
        or len(key) < SECRET_KEY_MIN_LENGTH
        or len(set(key)) < SECRET_KEY_MIN_UNIQUE_CHARACTERS
    ):
        found.append(
            f"DJANGO_SECRET_KEY must be your own random key of at least {SECRET_KEY_MIN_LENGTH} characters "
            "(not the development default)."
        )
    if values.stripe_webhook_secret in ("", DEV_WEBHOOK_SECRET) or is_placeholder(
        values.stripe_webhook_secret
    ):
        found.append(
            "STRIPE_WEBHOOK_SECRET must be your Stripe endpoint's signing secret (not the development default)."
        )
    for name, stripe_key in (
        ("STRIPE_SECRET_KEY", values.stripe_secret_key),
        ("STRIPE_PUBLISHABLE_KEY", values.stripe_publishable_key),
    ):
        if is_placeholder(stripe_key):
            found.append(f"{name} is still the example's placeholder: set your Stripe key.")
    if (
        values.stripe_secret_key.startswith(LIVE_KEY_PREFIXES)
        and values.stripe_api_base.rstrip("/") != STRIPE_API
    ):
        found.append(f"STRIPE_API_BASE must be {STRIPE_API} with a live key (the key is sent there).")
    if values.payout_provider == "local":
        found.append("PAYOUT_PROVIDER=local moves no real money: set PAYOUT_PROVIDER=stripe_connect.")
    if values.local_payouts_auto_verify:
        found.append("LOCAL_PAYOUTS_AUTO_VERIFY must be off: payout accounts are verified by staff.")
    hosts = [host.strip().lower() for host in values.allowed_hosts if host.strip()]
    if not hosts or "*" in hosts or all(host in LOOPBACK_HOSTS for host in hosts):
        found.append(
            "DJANGO_ALLOWED_HOSTS must name the site's own host names (not only localhost, not '*')."
        )
    if not values.site_url.lower().startswith("https://"):
        found.append("SITE_URL must be the site's https:// address.")
    if not values.ssl_redirect:
        found.append("SECURE_SSL_REDIRECT must be on: plain HTTP requests are sent to HTTPS.")
    if values.hsts_seconds <= 0:
        found.append("SECURE_HSTS_SECONDS must be positive: browsers keep to HTTPS for that long.")
    return found
