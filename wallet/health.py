"""What /healthz reports: database, Redis, the Celery broker and the last ledger check."""

from __future__ import annotations

from typing import Any

import redis
from django.conf import settings
from django.db.backends.base.base import BaseDatabaseWrapper

from wallet.selectors import last_ledger_check


def _ping_redis(url: str) -> dict[str, Any]:
    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1)
        client.ping()
        return {"ok": True}
    except redis.RedisError as exc:
        return {"ok": False, "error": str(exc)}


def service_health(connection: BaseDatabaseWrapper) -> dict[str, Any]:
    report: dict[str, Any] = {}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        report["database"] = {"ok": True}
    except Exception as exc:  # noqa: BLE001 - any database failure is reported, not raised
        report["database"] = {"ok": False, "error": str(exc)}
    report["redis"] = _ping_redis(settings.REDIS_URL)
    broker = settings.CELERY_BROKER_URL
    report["broker"] = (
        _ping_redis(broker) if broker.startswith("redis") else {"ok": True, "url": broker.split("@")[-1]}
    )
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
