"""What /healthz reports: database, Redis, the Celery broker and the last ledger check, in
detail to staff and to this machine (the load balancer's and operators' probes); anyone else
gets the bare status."""

from __future__ import annotations

import functools
import ipaddress
from typing import Any

import redis
from allauth.account.adapter import get_adapter
from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db.backends.base.base import BaseDatabaseWrapper
from django.http import HttpRequest

from wallet.selectors import last_ledger_check

PING_TIMEOUT = 0.5  # seconds; a health check must answer while Redis hangs
# Public text: it says what users notice, not which protections are weaker meanwhile.
REDIS_DOWN = "Redis is unreachable: live updates are paused; gifts and payments continue."
BROKER_DOWN = "The task broker is unreachable: background jobs wait until it is back."


@functools.cache
def _redis_client(url: str) -> redis.Redis:
    # One client (and connection pool) per URL and process: a health probe reuses a pooled
    # connection instead of opening one; a dead one is dropped and the next probe reconnects.
    return redis.Redis.from_url(url, socket_connect_timeout=PING_TIMEOUT, socket_timeout=PING_TIMEOUT)


def _ping_redis(url: str, impact: str) -> dict[str, Any]:
    try:
        _redis_client(url).ping()
        return {"ok": True}
    except redis.RedisError as exc:
        return {"ok": False, "error": str(exc), "message": impact}


def service_health(connection: BaseDatabaseWrapper) -> dict[str, Any]:
    report: dict[str, Any] = {}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        report["database"] = {"ok": True}
    except Exception as exc:  # noqa: BLE001 - any database failure is reported, not raised
        report["database"] = {"ok": False, "error": str(exc)}
    report["redis"] = _ping_redis(settings.REDIS_URL, REDIS_DOWN)
    broker = settings.CELERY_BROKER_URL
    if broker == settings.REDIS_URL:  # one server: one ping (a hung Redis costs one timeout)
        report["broker"] = (
            {**report["redis"], "message": BROKER_DOWN} if not report["redis"]["ok"] else {"ok": True}
        )
    elif broker.startswith("redis"):
        report["broker"] = _ping_redis(broker, BROKER_DOWN)
    else:
        report["broker"] = {"ok": True, "url": broker.split("@")[-1]}
    check = None
    if report["database"]["ok"]:
        try:
            check = last_ledger_check()
        except Exception as exc:  # noqa: BLE001
            report["ledger_check"] = {"ok": False, "error": str(exc)}
    if "ledger_check" not in report:
        report["ledger_check"] = (
            {
                "ok": check.ok,
                "at": check.finished_at.isoformat() if check.finished_at else None,
                "problems": len(check.problems),
            }
            if check
            else {"ok": None, "at": None, "problems": None}
        )
    report["ok"] = (
        all(report[k]["ok"] for k in ("database", "redis", "broker"))
        and report["ledger_check"]["ok"] is not False
    )
    return report


def sees_health_details(request: HttpRequest) -> bool:
    """Staff, or a request from a loopback address (the client address as the rate limits
    see it, so a forged X-Forwarded-For counts only behind TRUSTED_PROXY_COUNT proxies)."""
    if getattr(request.user, "is_staff", False):
        return True
    try:
        address = ipaddress.ip_address(get_adapter(request).get_client_ip(request))
    except (PermissionDenied, ValueError):
        return False
    return address.is_loopback


def health_for(request: HttpRequest, connection: BaseDatabaseWrapper) -> dict[str, Any]:
    report = service_health(connection)
    return report if sees_health_details(request) else {"ok": report["ok"]}
