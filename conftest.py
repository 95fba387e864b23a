"""Shared test fixtures: real PostgreSQL and Redis (from DATABASE_URL / REDIS_URL), a real
localstripe started for the session, and a real Chromium driven by Playwright."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

BASE_DIR = Path(__file__).resolve().parent
RESULTS_DIR = BASE_DIR / "test-results"

# Async code (Channels, Playwright's helpers) may touch the ORM from a test thread.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture(autouse=True)
def _fast_passwords(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def make_user(db: None) -> Callable[..., Any]:
    """Create a user (tests/factories.py); adults (born 30 years ago) unless `age` says otherwise."""
    from tests.factories import PASSWORD, UserFactory

    def make(
        email: str | None = None, *, age: int | None = 30, password: str = PASSWORD, **extra: Any
    ) -> Any:
        if email is not None:
            extra["email"] = email
        return UserFactory.create(age=age, password=password, **extra)

    return make


@pytest.fixture
def staff(make_user: Callable[..., Any]) -> Any:
    """Staff with every permission (a superuser)."""
    from wallet.models import User

    return make_user(is_staff=True, is_superuser=True, role=User.Role.STAFF)


@pytest.fixture
def make_creator(make_user: Callable[..., Any], request: pytest.FixtureRequest) -> Callable[..., Any]:
    """Create a creator through the services (tests/factories.py `CreatorFactory`).

    Approved unless `status` says otherwise (applied, rejected, suspended), decided by the
    test's `staff`. `handle` picks the handle; `payout_account=True` connects a payout account
    (verified when LOCAL_PAYOUTS_AUTO_VERIFY is on); `diamonds=N` credits N diamonds. Other
    keywords are the user's, as `make_user` takes them (`is_staff=True`, `display_name=...`)."""
    from creators.models import Creator
    from tests.factories import CreatorFactory

    def make(
        *,
        status: str = Creator.Status.APPROVED,
        handle: str | None = None,
        payout_account: bool = False,
        diamonds: int = 0,
        **user_fields: Any,
    ) -> Creator:
        fields: dict[str, Any] = {"handle": handle} if handle is not None else {}
        return CreatorFactory.create(
            user=make_user(**user_fields),
            status=status,
            decided_by=request.getfixturevalue("staff"),
            payout_account=payout_account,
            diamonds=diamonds,
            **fields,
        )

    return make


@pytest.fixture
def fund(db: None) -> Callable[..., Any]:
    """Give a user coins through the wallet service (as a paid purchase would)."""
    from wallet import services

    counter = {"n": 0}

    def give(user: Any, coins: int) -> Any:
        counter["n"] += 1
        return services.issue_coins(
            user=user, coins=coins, idempotency_key=f"test-fund-{user.pk}-{counter['n']}"
        )

    return give


@pytest.fixture(scope="session")
def localstripe_url() -> Iterator[str]:
    """A real localstripe on a free loopback port for the whole test session."""
    from tools.localstripe_server import free_port, start_localstripe, stop_localstripe

    port = free_port()
    secret = os.environ.get("STRIPE_WEBHOOK_SECRET", "whsec_test_local")
    proc = start_localstripe(port, None, secret)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        stop_localstripe(proc)


@pytest.fixture
def stripe_settings(settings: Any, localstripe_url: str) -> Any:
    settings.STRIPE_API_BASE = localstripe_url
    settings.STRIPE_JS_URL = f"{localstripe_url}/js.stripe.com/v3/"
    settings.STRIPE_SECRET_KEY = "sk_test_localstripe"
    settings.STRIPE_PUBLISHABLE_KEY = "pk_test_localstripe"
    settings.STRIPE_WEBHOOK_SECRET = "whsec_test_local"
    return settings


CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    executable = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
    if not Path(executable).exists():
        pytest.fail(f"Chromium not found at {executable}: `make test` installs Debian's chromium package.")
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def screenshot_dir(request: pytest.FixtureRequest) -> Path:
    path = RESULTS_DIR / request.node.name
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture
def asgi_server(transactional_db: None, settings: Any) -> Iterator[str]:
    """The real ASGI app (HTTP + websockets) served by uvicorn against the test database."""
    from django.db import connection

    from tools.asgi_server import asgi_server as start_server

    db = connection.settings_dict
    host = db.get("HOST") or db.get("OPTIONS", {}).get("host", "")
    user = db.get("USER") or "postgres"
    port_part = db.get("PORT") or db.get("OPTIONS", {}).get("port") or 5432
    if host.startswith("/"):
        # A unix socket: django-environ reads it from the query string.
        database_url = f"postgresql://{user}@/{db['NAME']}?host={host}&port={port_part}"
    else:
        password = db.get("PASSWORD") or ""
        database_url = f"postgres://{user}:{password}@{host}:{port_part}/{db['NAME']}"
    env = {
        "DATABASE_URL": database_url,
        "STRIPE_API_BASE": settings.STRIPE_API_BASE,
        "STRIPE_JS_URL": settings.STRIPE_JS_URL,
        "PASSWORD_HASHERS": "django.contrib.auth.hashers.MD5PasswordHasher",
    }
    with start_server(env=env, timeout=30) as server:
        yield server.url
