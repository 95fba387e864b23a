"""Redis down: the cache answers as empty, queueing a task after commit logs instead of
raising, and /healthz says so. (drills/redis_outage.py runs the whole site through it.)"""

from __future__ import annotations

import logging
import socket
import time
import uuid
from typing import Any

import pytest
import redis
from celery import Celery
from django.conf import settings as django_settings
from django.db import transaction

from coinsite import cache as fail_soft
from coinsite.cache import FailSoftRedisCache
from coinsite.tasks import enqueue, enqueue_on_commit
from wallet import health


def closed_port() -> int:
    """A loopback port nothing listens on: connecting is refused at once."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def cache_at(url: str) -> FailSoftRedisCache:
    return FailSoftRedisCache(
        url,
        {
            "KEY_PREFIX": f"test-{uuid.uuid4().hex[:8]}",
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
        },
    )


@pytest.fixture
def dead_redis_url() -> str:
    return f"redis://127.0.0.1:{closed_port()}/0"


# ---------------------------------------------------------------- the fail-soft cache


def test_the_cache_answers_like_an_empty_cache_while_redis_is_unreachable(dead_redis_url, caplog):
    cache = cache_at(dead_redis_url)
    with caplog.at_level(logging.WARNING, logger="coinsite.cache"):
        assert cache.get("k") is None
        assert cache.get("k", "fallback") == "fallback"
        cache.set("k", 1)
        assert cache.add("lock", 1) is True  # allauth refuses the request when its add-lock fails
        assert cache.incr("n", 3) == 3
        assert cache.get_many(["a", "b"]) == {}
        assert cache.set_many({"a": 1, "b": 2}) == ["a", "b"]
        assert cache.has_key("k") is False
        assert cache.touch("k") is False
        assert cache.delete("k") is False
        cache.delete_many(["a"])
        cache.clear()
    unreachable = [r for r in caplog.records if "unreachable" in r.getMessage()]
    assert len(unreachable) == 1, "one warning per outage, not one per call"


def test_while_redis_is_known_down_the_cache_does_not_wait_on_it_again(dead_redis_url):
    cache = cache_at(dead_redis_url)
    cache.get("first")  # fails, and marks the outage

    class Exploding:
        def __getattr__(self, name: str) -> Any:
            raise AssertionError(f"Redis was contacted ({name}) during the pause")

    cache.__dict__["_cache"] = Exploding()  # the client, a cached_property
    started = time.monotonic()
    for _ in range(100):
        assert cache.get("k", 7) == 7
    assert time.monotonic() - started < 0.1


def test_the_outage_is_shared_by_every_cache_object_of_the_process(dead_redis_url):
    # Django makes one cache object per thread (per request under ASGI).
    first, second = cache_at(dead_redis_url), cache_at(dead_redis_url)
    first.get("k")
    assert second.outage is first.outage and second.outage.skip()


def test_a_hung_redis_costs_one_socket_timeout_not_one_per_call():
    # A listener that accepts connections and never answers: a frozen (SIGSTOPped) Redis.
    with socket.socket() as hung:
        hung.bind(("127.0.0.1", 0))
        hung.listen(16)
        cache = cache_at(f"redis://127.0.0.1:{hung.getsockname()[1]}/0")
        started = time.monotonic()
        for _ in range(20):
            assert cache.get("k") is None
        assert time.monotonic() - started < 2.0


def test_after_the_pause_the_cache_tries_redis_again_and_logs_the_recovery(
    dead_redis_url, monkeypatch, caplog
):
    cache = cache_at(dead_redis_url)
    cache.get("k")
    cache.__dict__["_cache"] = cache_at(django_settings.REDIS_URL)._cache  # Redis is back
    monkeypatch.setattr(fail_soft, "RETRY_AFTER", 0.0)
    cache.outage.retry_at = 0.0
    with caplog.at_level(logging.WARNING, logger="coinsite.cache"):
        cache.set("k", "v", 30)
        assert cache.get("k") == "v"
    assert any("reachable again" in r.getMessage() for r in caplog.records)
    assert cache.outage.down_since is None
    cache.delete("k")


def test_the_cache_works_normally_against_a_live_redis():
    cache = cache_at(django_settings.REDIS_URL)
    cache.set("k", {"a": 1}, 30)
    assert cache.get("k") == {"a": 1}
    assert cache.add("k", 2) is False
    cache.set("n", 1, 30)
    assert cache.incr("n", 2) == 3
    cache.delete_many(["k", "n"])
    assert cache.outage.down_since is None


@pytest.mark.django_db
def test_a_log_in_works_while_redis_is_unreachable(client, make_user, settings, dead_redis_url):
    # allauth rate-limits log-ins through the cache; Django's own RedisCache made this a 500.
    user = make_user("viewer@example.com")
    settings.CACHES = {
        "default": {**settings.CACHES["default"], "LOCATION": dead_redis_url, "KEY_PREFIX": "dead"}
    }
    response = client.post("/accounts/login/", {"login": user.email, "password": "pw-Secret-123"})
    assert response.status_code == 302
    assert response["Location"] == "/me/"


@pytest.mark.django_db
def test_with_djangos_own_redis_cache_the_same_log_in_fails(client, make_user, settings, dead_redis_url):
    # Shows the test above exercises the cache: allauth does use it on every log-in.
    user = make_user("viewer@example.com")
    settings.CACHES = {
        "default": {
            **settings.CACHES["default"],
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": dead_redis_url,
        }
    }
    with pytest.raises(redis.ConnectionError):
        client.post("/accounts/login/", {"login": user.email, "password": "pw-Secret-123"})


def test_settings_give_every_redis_client_short_timeouts():
    options = django_settings.CACHES["default"]["OPTIONS"]
    assert options["socket_connect_timeout"] <= 1 and options["socket_timeout"] <= 1
    broker = django_settings.CELERY_BROKER_TRANSPORT_OPTIONS
    # Above kombu's 1 s BRPOP wait, or every idle worker poll would time out.
    assert 1 < broker["socket_timeout"] <= 5 and broker["socket_connect_timeout"] <= 2


# ---------------------------------------------------------------- queueing tasks


def celery_app_at(url: str, queue: str) -> tuple[Celery, Any]:
    app = Celery(f"resilience-{queue}", broker=url, set_as_current=False)
    app.conf.task_default_queue = queue
    app.conf.broker_transport_options = dict(django_settings.CELERY_BROKER_TRANSPORT_OPTIONS)

    @app.task(name=f"resilience.{queue}.noop")
    def noop(n: int) -> int:
        return n

    return app, noop


@pytest.mark.django_db(transaction=True)
def test_a_task_queued_on_commit_with_the_broker_down_is_logged_not_raised(dead_redis_url, caplog):
    app, noop = celery_app_at(dead_redis_url, f"q-{uuid.uuid4().hex[:6]}")
    started = time.monotonic()
    with caplog.at_level(logging.ERROR, logger="coinsite.tasks"):
        with transaction.atomic():
            enqueue_on_commit(noop, 7)
    assert time.monotonic() - started < 5
    messages = [r.getMessage() for r in caplog.records]
    assert any("could not queue" in m and "catch up" in m for m in messages), messages
    app.close()


def test_a_task_queued_with_the_broker_up_reaches_its_queue():
    queue = f"q-{uuid.uuid4().hex[:6]}"
    app, noop = celery_app_at(django_settings.REDIS_URL, queue)
    client = redis.Redis.from_url(django_settings.REDIS_URL)
    try:
        assert enqueue(noop, 7) is True
        assert client.llen(queue) == 1
    finally:
        client.delete(queue, f"_kombu.binding.{queue}")
        app.close()


@pytest.mark.django_db
def test_enqueue_on_commit_waits_for_the_commit(django_capture_on_commit_callbacks, dead_redis_url):
    app, noop = celery_app_at(dead_redis_url, f"q-{uuid.uuid4().hex[:6]}")
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        enqueue_on_commit(noop, 1)
    assert len(callbacks) == 1
    app.close()


# ---------------------------------------------------------------- /healthz


@pytest.mark.django_db
def test_healthz_says_redis_is_down_quickly_and_what_still_works(client, settings, dead_redis_url):
    settings.REDIS_URL = settings.CELERY_BROKER_URL = dead_redis_url
    started = time.monotonic()
    response = client.get("/healthz")
    assert time.monotonic() - started < 2
    assert response.status_code == 503
    body = response.json()
    assert body["database"] == {"ok": True}
    assert body["redis"]["ok"] is False and body["redis"]["message"] == health.REDIS_DOWN
    assert body["broker"]["ok"] is False and body["broker"]["message"] == health.BROKER_DOWN
    assert body["ok"] is False


@pytest.mark.django_db
def test_healthz_with_a_hung_redis_answers_within_one_ping_timeout(client, settings):
    with socket.socket() as hung:
        hung.bind(("127.0.0.1", 0))
        hung.listen(16)
        settings.REDIS_URL = settings.CELERY_BROKER_URL = f"redis://127.0.0.1:{hung.getsockname()[1]}/0"
        started = time.monotonic()
        response = client.get("/healthz")
        elapsed = time.monotonic() - started
    assert response.status_code == 503 and response.json()["redis"]["ok"] is False
    assert elapsed < 1.5, "one ping for Redis and broker on the same server"
