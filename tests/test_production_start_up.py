"""Production (`DJANGO_DEBUG=false`) refuses to start with a development default: manage.py,
the ASGI server and the Celery processes all stop with one line naming the variable. The
documented production file passes `check --deploy` with no warning, live Stripe keys included,
and a live key is still refused with DEBUG on."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

BASE_DIR = Path(__file__).resolve().parents[1]
EXAMPLE = BASE_DIR / "coinsite" / "production.env.example"
VENV_BIN = Path(sys.executable).parent
# Read by the start-up checks: the test process's own values must not leak into the child.
CHECKED = (
    "PAYOUT_PROVIDER",
    "LOCAL_PAYOUTS_AUTO_VERIFY",
    "SITE_URL",
    "SECURE_SSL_REDIRECT",
    "SECURE_HSTS_SECONDS",
    "TRUSTED_PROXY_COUNT",
)
# The child keeps this machine's own database and Redis, so nothing reaches the example's hosts.
KEEP_LOCAL = ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL")
REFUSAL = "ImproperlyConfigured: CoinSite refuses to start with DJANGO_DEBUG=false"


# What an operator puts in place of the example's placeholders.
FILLED_IN = {
    "DJANGO_SECRET_KEY": "k7Qp2-vX9sLm4Rt8Wz1Yb6Nc3Hd0Jf5Ge7Ua2Io9Pl4Ks8Mn1Bv6Cx3Zq0Wr5Ty2Ue",
    "STRIPE_SECRET_KEY": "sk_live_51AbCdEfGhIjKlMnOpQrStUv",
    "STRIPE_PUBLISHABLE_KEY": "pk_live_51AbCdEfGhIjKlMnOpQrStUv",
    "STRIPE_WEBHOOK_SECRET": "whsec_9f8e7d6c5b4a39281706f5e4d3c2b1a0",
}


def example_settings(*, filled_in: bool = True) -> dict[str, str]:
    values = {}
    for line in EXAMPLE.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, _, value = line.partition("=")
            values[name.strip()] = value.strip()
    if filled_in:
        values.update(FILLED_IN)
    return values


def production_env(*, drop: tuple[str, ...] = (), **changes: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DJANGO_", "STRIPE_", "SECURE_")) and k not in CHECKED
    }
    env.update({k: v for k, v in example_settings().items() if k not in KEEP_LOCAL})
    for name in drop:
        env.pop(name, None)
    env.update(changes)
    env["DJANGO_SETTINGS_MODULE"] = "coinsite.settings"
    env["PATH"] = f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}"
    return env


def run(args: list[str], env: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=BASE_DIR, env=env, capture_output=True, text=True, timeout=timeout)


def refusal_line(result: subprocess.CompletedProcess[str]) -> str:
    lines = [line for line in (result.stdout + result.stderr).splitlines() if REFUSAL in line]
    assert lines, result.stdout + result.stderr
    return lines[-1]


def test_check_deploy_reports_nothing_with_the_documented_production_settings() -> None:
    result = run([sys.executable, "manage.py", "check", "--deploy"], production_env())
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "System check identified no issues (0 silenced)." in output
    assert "WARNING" not in output and "?:" not in output


@pytest.mark.parametrize("variable", sorted(FILLED_IN))
def test_a_copy_of_the_example_with_its_placeholders_left_in_refuses_to_start(variable: str) -> None:
    env = production_env()
    env[variable] = example_settings(filled_in=False)[variable]
    result = run([sys.executable, "manage.py", "check", "--deploy"], env)
    assert result.returncode != 0
    assert variable in refusal_line(result)


# case: (variables left unset so their development default applies, values set, the variable named)
UNSAFE: dict[str, tuple[tuple[str, ...], dict[str, str], str]] = {
    "the development secret key": (("DJANGO_SECRET_KEY",), {}, "DJANGO_SECRET_KEY"),
    "a short secret key": ((), {"DJANGO_SECRET_KEY": "x7#kQ9-short-but-not-empty"}, "DJANGO_SECRET_KEY"),
    "the development webhook secret": (("STRIPE_WEBHOOK_SECRET",), {}, "STRIPE_WEBHOOK_SECRET"),
    "a live key sent to another API": ((), {"STRIPE_API_BASE": "http://127.0.0.1:8420"}, "STRIPE_API_BASE"),
    "the local payout provider": ((), {"PAYOUT_PROVIDER": "local"}, "PAYOUT_PROVIDER"),
    "self-verifying payout accounts": (
        (),
        {"LOCAL_PAYOUTS_AUTO_VERIFY": "true"},
        "LOCAL_PAYOUTS_AUTO_VERIFY",
    ),
    "localhost as the only host": (
        (),
        {"DJANGO_ALLOWED_HOSTS": "localhost,127.0.0.1"},
        "DJANGO_ALLOWED_HOSTS",
    ),
    "any host": ((), {"DJANGO_ALLOWED_HOSTS": "*"}, "DJANGO_ALLOWED_HOSTS"),
    "a plain http site address": ((), {"SITE_URL": "http://coins.example.com"}, "SITE_URL"),
    "no redirect to https": ((), {"SECURE_SSL_REDIRECT": "false"}, "SECURE_SSL_REDIRECT"),
    "no HSTS": ((), {"SECURE_HSTS_SECONDS": "0"}, "SECURE_HSTS_SECONDS"),
}


@pytest.mark.parametrize("case", UNSAFE, ids=list(UNSAFE))
def test_manage_py_refuses_to_start_with_each_unsafe_production_setting_and_names_it(case: str) -> None:
    drop, changes, variable = UNSAFE[case]
    result = run([sys.executable, "manage.py", "check"], production_env(drop=drop, **changes))
    line = refusal_line(result)
    assert result.returncode != 0
    assert variable in line
    others = {name for _, _, name in UNSAFE.values()} - {variable}
    assert not [name for name in others if name in line], line


@pytest.mark.parametrize("workers", ["1", "2"])
def test_the_asgi_server_refuses_to_start_with_an_unsafe_production_setting(workers: str) -> None:
    # The Procfile's web command. With two workers the supervisor must stop (uvicorn then exits
    # 0), not restart the workers forever: `run` raises TimeoutExpired if it keeps going.
    args = [
        "uvicorn",
        "coinsite.asgi:application",
        "--host",
        "127.0.0.1",
        "--port",
        "0",
        "--workers",
        workers,
    ]
    result = run(args, production_env(PAYOUT_PROVIDER="local"), timeout=60)
    assert "PAYOUT_PROVIDER" in refusal_line(result)
    if workers == "1":
        assert result.returncode != 0
    else:
        assert "failed to start, stopping the parent process" in result.stderr


@pytest.mark.parametrize("process", ["worker", "beat"])
def test_celery_refuses_to_start_with_an_unsafe_production_setting(process: str) -> None:
    result = run(
        ["celery", "-A", "coinsite", process, "-l", "info"],
        production_env(drop=("STRIPE_WEBHOOK_SECRET",)),
        60,
    )
    assert result.returncode != 0
    assert "STRIPE_WEBHOOK_SECRET" in refusal_line(result)


@pytest.mark.parametrize("variable", ["STRIPE_SECRET_KEY", "STRIPE_PUBLISHABLE_KEY"])
def test_a_live_stripe_key_is_refused_while_debug_is_on(variable: str) -> None:
    key = "sk_live_51Abc" if variable == "STRIPE_SECRET_KEY" else "pk_live_51Abc"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "STRIPE_"))}
    env.update({"DJANGO_DEBUG": "true", variable: key, "DJANGO_SETTINGS_MODULE": "coinsite.settings"})
    result = run([sys.executable, "manage.py", "check"], env)
    assert result.returncode != 0
    line = [line for line in result.stderr.splitlines() if "ImproperlyConfigured" in line][-1]
    assert f"{variable}: CoinSite refuses live Stripe keys while DJANGO_DEBUG=true." in line
