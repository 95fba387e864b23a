"""Redis stops answering, then dies, then comes back empty, while viewers gift and Stripe
delivers payments to the real ASGI app (uvicorn), with a Celery worker and beat running.

The drill's own redis-server (nothing else uses it) is frozen with SIGSTOP for the first half
of the outage (connections hang: the case timeouts are for), then killed (connections
refused, every key lost) and started again on the same port. HTTP clients keep sending
gifts (the REST API with a token, and with a session and CSRF as the live page's script
does), webhooks, log-ins and /healthz probes, and retry with the same idempotency key until
they get a definitive answer. A real Chromium watches the live page.

Passes when: every gift and purchase landed exactly once; no 5xx but a 503 that says why;
no request hung past the client's timeout; /healthz said Redis was down (503) throughout the
outage and fine after it; the live page said "reconnecting" during the outage and showed a
new gift live after it; the periodic tasks ran again after Redis came back; the ledger check
is clean.
"""

from __future__ import annotations

import os
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import requests
from django.db import connection
from django.utils import timezone

from bench.harness import HTTPS_HEADERS
from drills.harness import (
    BASE_DIR,
    Answers,
    DrillRedis,
    Report,
    asgi_server,
    celery,
    check_ledger,
    process_env,
    processes,
    start,
    stop,
    until_definitive,
    web_client,
)
from drills.payments import Delivery, paid_at_stripe, stripe_stand_in, succeeded
from drills.world import people

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"]
PASSWORD = "drill-Secret-123"
CLIENT_TIMEOUT = 10.0  # seconds: a request slower than this means the site hung


@dataclass
class Sizes:
    warmup: float
    frozen: float  # SIGSTOP
    killed: float  # SIGKILL, port refusing
    after: float
    api_gifters: int
    html_gifters: int
    webhook_senders: int
    purchases: int


@dataclass
class Sent:
    """What the clients were told: gift key -> (GiftSend id, coins); purchases delivered."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    gifts: dict[str, tuple[int, int]] = field(default_factory=dict)
    refused: list[str] = field(default_factory=list)
    gave_up: list[str] = field(default_factory=list)
    delivered: int = 0

    def gift(self, key: str, response: Any) -> None:
        with self.lock:
            if response is None:
                self.gave_up.append(key)
            elif response.status_code == 201:
                body = response.json()
                self.gifts[key] = (int(body["id"]), int(body["coins"]))
            elif len(self.refused) < 10:
                self.refused.append(f"{key}: {response.status_code} {response.text[:160]}")


def run(small: bool) -> Report:
    # The webhook endpoint re-reads every PaymentIntent from Stripe: the drill pays at its own stand-in.
    with stripe_stand_in():
        return _run(small)


def _run(small: bool) -> Report:
    from creators.models import Creator
    from gifts.models import Gift, GiftSend, LiveSession
    from wallet import selectors
    from wallet.models import CoinPurchase, LedgerCheck, Transaction

    sizes = (
        Sizes(3, 3, 3, 9, api_gifters=3, html_gifters=1, webhook_senders=2, purchases=40)
        if small
        else Sizes(5, 15, 15, 15, api_gifters=6, html_gifters=2, webhook_senders=3, purchases=200)
    )
    outage = sizes.frozen + sizes.killed
    report = Report(f"Redis stopped for {outage:.0f} s during gifting and purchases")
    logs = BASE_DIR / "var" / "drills"
    logs.mkdir(parents=True, exist_ok=True)
    tag = uuid.uuid4().hex[:6]

    # ------------------------------------------------------------ the world
    from django.contrib.auth.hashers import MD5PasswordHasher
    from rest_framework.authtoken.models import Token

    from gifts.catalogue import GIFT_CATALOGUE

    if not Gift.objects.exists():
        Gift.objects.bulk_create(
            Gift(name=name, coins=coins, emoji=emoji, sort_order=order)
            for order, (name, coins, emoji) in enumerate(GIFT_CATALOGUE)
        )
    rose = Gift.objects.get(name="Rose")
    gifters = sizes.api_gifters + sizes.html_gifters
    world = people(viewers=gifters + 1, creators=1, coins_each=200_000)
    viewers, buyers = world.viewers[:gifters], world.viewers[gifters:]
    creator_user = world.creators[0]
    creator = Creator.objects.create(
        user=creator_user, handle=f"drill-{tag}", display_name="Drill creator", status=Creator.Status.APPROVED
    )
    session = LiveSession.objects.create(creator=creator, title="Redis outage drill")
    md5 = MD5PasswordHasher()
    for viewer in viewers[sizes.api_gifters :] + buyers:
        viewer.password = md5.encode(PASSWORD, md5.salt())
        viewer.save(update_fields=["password"])
    tokens = [Token.objects.create(user=v).key for v in viewers[: sizes.api_gifters]]
    purchases = paid_at_stripe(buyers, sizes.purchases, tag=tag)
    bought = sum(p.coins for p in purchases)
    connection.close()

    # ------------------------------------------------------------ the servers
    redis = DrillRedis(logs / "redis_outage-redis.log")
    redis.start()
    queue = f"drills-{tag}"
    env = process_env(
        REDIS_URL=redis.url,
        CELERY_BROKER_URL=redis.url,
        CELERY_QUEUE=queue,
        ROLLUP_SECONDS="1",
        LEDGER_CHECK_SECONDS="2",
        LOG_LEVEL="WARNING",
        PASSWORD_HASHERS="django.contrib.auth.hashers.MD5PasswordHasher",
    )
    worker = start(
        celery("worker", "-l", "warning", "--concurrency", "2", "-Q", queue),
        env=env,
        log=logs / "redis_outage-worker.log",
    )
    beat = start(
        celery(
            "beat",
            "-l",
            "warning",
            "--scheduler",
            "django_celery_beat.schedulers:DatabaseScheduler",
            "--pidfile=",
        ),
        env=env,
        log=logs / "redis_outage-beat.log",
    )
    try:
        server, base = asgi_server(env=env, log=logs / "redis_outage-web.log", workers=2)
    except RuntimeError as exc:
        for proc in (worker, beat):
            stop(proc)
        redis.stop()
        report.problems.append(str(exc))
        return report

    answers = Answers()
    sent = Sent()
    halt = threading.Event()
    health: list[tuple[float, int | str, bool | None, str, float]] = []
    logins: list[tuple[str, int | str]] = []
    live_url = f"{base}/api/v1/live/{session.pk}/gifts/"

    def api_gifter(i: int) -> None:
        http = web_client(base)
        auth = {"Authorization": f"Token {tokens[i]}"}
        n = 0
        while not halt.is_set():
            key, count = f"drill-ro-api-{i}-{n}", 1 + n % 3
            headers = {**auth, "Idempotency-Key": key}

            def send(headers: dict[str, str] = headers, count: int = count) -> requests.Response:
                return http.post(
                    live_url, json={"gift": rose.pk, "count": count}, headers=headers, timeout=CLIENT_TIMEOUT
                )

            sent.gift(key, until_definitive(send, answers, "gift API"))
            n += 1
            time.sleep(0.02)

    def log_in(http: requests.Session, email: str) -> tuple[int | str, dict[str, str]]:
        """allauth's log-in form, as a browser posts it. Returns the answer and the cookies
        (sent by hand: DEBUG is off, so they are Secure and requests keeps them off http)."""
        try:
            page = http.get(f"{base}/accounts/login/", timeout=CLIENT_TIMEOUT)
            cookies = {"csrftoken": page.cookies.get("csrftoken") or ""}
            answer = http.post(
                f"{base}/accounts/login/",
                data={"login": email, "password": PASSWORD, "csrfmiddlewaretoken": cookies["csrftoken"]},
                headers={"Cookie": f"csrftoken={cookies['csrftoken']}"},
                allow_redirects=False,
                timeout=CLIENT_TIMEOUT,
            )
        except requests.RequestException as exc:
            return type(exc).__name__, {}
        cookies.update({k: v or "" for k, v in answer.cookies.items()})
        return answer.status_code, cookies

    def html_gifter(i: int) -> None:
        http = web_client(base)
        viewer = viewers[sizes.api_gifters + i]
        status, cookies = log_in(http, viewer.email)
        if status != 302 or "sessionid" not in cookies:
            sent.refused.append(f"html gifter {i} could not log in before the outage: {status}")
            return
        base_headers = {
            "Cookie": "; ".join(f"{k}={v}" for k, v in cookies.items()),
            "X-CSRFToken": cookies["csrftoken"],
        }
        n = 0
        while not halt.is_set():
            key, count = f"drill-ro-html-{i}-{n}", 1 + n % 2
            headers = {**base_headers, "Idempotency-Key": key}

            def send(headers: dict[str, str] = headers, count: int = count) -> requests.Response:
                body = {"gift": rose.pk, "count": count}
                return http.post(live_url, json=body, headers=headers, timeout=CLIENT_TIMEOUT)

            sent.gift(key, until_definitive(send, answers, "gift page"))
            n += 1
            time.sleep(0.02)

    pending = list(purchases)
    pending_lock = threading.Lock()
    total_seconds = sizes.warmup + outage + sizes.after
    pace = total_seconds * sizes.webhook_senders / max(1, len(purchases)) * 0.8

    def webhook_sender(i: int) -> None:
        http = web_client(base)
        while True:
            with pending_lock:
                if not pending:
                    return
                purchase = pending.pop()
            delivery = succeeded(purchase)

            def send(delivery: Delivery = delivery) -> requests.Response:
                return http.post(
                    f"{base}/stripe/webhook/",
                    data=delivery.body,
                    headers=delivery.headers(),
                    timeout=CLIENT_TIMEOUT,
                )

            answer = until_definitive(send, answers, "webhook")
            with sent.lock:
                if answer is not None and answer.status_code == 200:
                    sent.delivered += 1
                elif len(sent.refused) < 10:
                    sent.refused.append(
                        f"webhook for purchase {purchase.pk}: {answer and answer.status_code}"
                    )
            if not halt.is_set():
                time.sleep(pace)

    def health_prober() -> None:
        http = web_client(base)
        while not halt.is_set():
            t0 = time.monotonic()
            try:
                answer = http.get(f"{base}/healthz", timeout=CLIENT_TIMEOUT)
                body = answer.json()
                redis_ok = body.get("redis", {}).get("ok")
                message = body.get("redis", {}).get("message", "")
                health.append((t0, answer.status_code, redis_ok, message, time.monotonic() - t0))
            except (requests.RequestException, ValueError) as exc:
                health.append((t0, type(exc).__name__, None, "", time.monotonic() - t0))
            time.sleep(0.3)

    def login_prober() -> None:
        # allauth rate-limits log-ins through the cache: a plain RedisCache makes this a 500.
        buyer = buyers[0]
        while not halt.is_set():
            t0 = time.monotonic()
            status, _ = log_in(web_client(base), buyer.email)
            detail = "" if status == 302 else "(log-in did not redirect)"
            answers.note("log-in", str(status), time.monotonic() - t0, detail)
            logins.append((answers.phase, status))
            time.sleep(1.5)

    threads = [threading.Thread(target=api_gifter, args=(i,)) for i in range(sizes.api_gifters)]
    threads += [threading.Thread(target=html_gifter, args=(i,)) for i in range(sizes.html_gifters)]
    threads += [threading.Thread(target=webhook_sender, args=(i,)) for i in range(sizes.webhook_senders)]
    threads += [threading.Thread(target=health_prober), threading.Thread(target=login_prober)]

    page_notes: list[str] = []
    timeline: dict[str, float] = {}
    restarted_at = None
    try:
        with processes(server, worker, beat):
            try:
                from playwright.sync_api import Error as PlaywrightError
                from playwright.sync_api import sync_playwright

                executable = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
                with sync_playwright() as pw:
                    browser = pw.chromium.launch(
                        executable_path=executable, headless=True, args=CHROMIUM_ARGS
                    )
                    page = browser.new_page(extra_http_headers=HTTPS_HEADERS)
                    page.goto(f"{base}/live/{session.pk}/")
                    page.wait_for_selector("[data-live-session][data-connection=live]", timeout=15_000)
                    for t in threads:
                        t.start()
                    page.wait_for_timeout(sizes.warmup * 1000)

                    answers.phase = "outage"
                    timeline["outage"] = time.monotonic()
                    redis.freeze()
                    paused = _wait_for(
                        page, "[data-live-session][data-connection=reconnecting]", sizes.frozen
                    )
                    if paused is not None:
                        page_notes.append(f"said 'reconnecting' {paused:.1f} s after Redis froze")
                        _note_paused_line(page, page_notes, logs / "redis_outage-paused.png")
                    page.wait_for_timeout(
                        max(0.0, timeline["outage"] + sizes.frozen - time.monotonic()) * 1000
                    )
                    timeline["killed"] = time.monotonic()
                    redis.kill()
                    if paused is None:
                        paused = _wait_for(
                            page, "[data-live-session][data-connection=reconnecting]", sizes.killed
                        )
                        if paused is None:
                            report.problems.append(
                                "the live page never said 'reconnecting' during the outage"
                            )
                        else:
                            page_notes.append(f"said 'reconnecting' {paused:.1f} s after Redis was killed")
                            _note_paused_line(page, page_notes, logs / "redis_outage-paused.png")
                    page.wait_for_timeout(
                        max(0.0, timeline["killed"] + sizes.killed - time.monotonic()) * 1000
                    )

                    timeline["restart"] = time.monotonic()
                    redis.start()
                    restarted_at = timezone.now()
                    answers.phase = "after"
                    timeline["back"] = time.monotonic()
                    # live.js retries with a backoff of at most 8 s (jittered).
                    back = _wait_for(page, "[data-live-session][data-connection=live]", 10)
                    if back is None:
                        report.problems.append(
                            "the live page did not reconnect within 10 s of Redis coming back"
                        )
                    else:
                        page_notes.append(f"live again {back:.1f} s after Redis came back")
                        _marker_gift(page, page_notes, report, live_url, tokens[0], rose.pk, sent, answers)
                    page.wait_for_timeout(max(0.0, timeline["back"] + sizes.after - time.monotonic()) * 1000)
                    browser.close()
            except PlaywrightError as exc:
                report.problems.append(f"browser: {exc}"[:300])
            finally:
                halt.set()
                for t in threads:
                    if t.is_alive():
                        t.join()
            alive = {
                "web": server.poll() is None,
                "worker": worker.poll() is None,
                "beat": beat.poll() is None,
            }
    finally:
        redis.stop()
        connection.close()

    # ------------------------------------------------------------ what landed
    rows = {
        key: (pk, coins)
        for key, pk, coins in GiftSend.objects.filter(session=session).values_list(
            "idempotency_key", "pk", "coins"
        )
    }
    told = sent.gifts
    intended = sum(c for _, c in told.values())
    landed = sum(c for _, c in rows.values())
    diamonds = selectors.diamond_balance(user_id=creator_user.pk)
    report.lost = len(set(told) - set(rows)) + max(0, intended - diamonds)
    report.doubled = len(set(rows) - set(told)) + max(0, diamonds - intended)
    wrong_ids = [k for k in told if k in rows and rows[k] != told[k]]
    if wrong_ids:
        report.problems.append(
            f"{len(wrong_ids)} gifts answered with another id or amount than stored, e.g. {wrong_ids[0]}"
        )
    spent = {v.pk: 0 for v in viewers}
    for viewer_id, coins in GiftSend.objects.filter(session=session).values_list("sender_id", "coins"):
        spent[viewer_id] += coins
    for v in viewers:
        if selectors.coin_balance(user_id=v.pk) != world.funded - spent[v.pk]:
            report.problems.append(f"viewer {v.pk}: coins held do not equal funded minus gifted")
    credited = CoinPurchase.objects.filter(
        pk__in=[p.pk for p in purchases], status=CoinPurchase.Status.PAID
    ).count()
    credits = Transaction.objects.filter(idempotency_key__in=[f"purchase-{p.pk}" for p in purchases]).count()
    held = sum(selectors.coin_balance(user_id=b.pk) for b in buyers)
    report.lost += max(0, len(purchases) - credits) + max(0, bought + world.funded * len(buyers) - held)
    report.doubled += max(0, credits - len(purchases)) + max(0, held - bought - world.funded * len(buyers))

    outage_gifts = answers.count(phase="outage", endpoint="gift API", answer="201") + answers.count(
        phase="outage", endpoint="gift page", answer="201"
    )
    report.did.append(
        f"{sizes.api_gifters} API + {sizes.html_gifters} page gifters, {sizes.webhook_senders} webhook senders, "
        f"/healthz and log-in probes, a Chromium live page, Celery worker + beat; Redis frozen {sizes.frozen:.0f} s "
        f"then killed {sizes.killed:.0f} s, then started empty"
    )
    for phase in ("before", "outage", "after"):
        report.found.append(f"{phase}: {answers.summary(phase)}")
    report.found.append(
        f"{len(told)} gifts confirmed ({outage_gifts} during the outage), {len(rows)} stored; {intended} coins "
        f"gifted, creator holds {diamonds} diamonds; {credits} of {len(purchases)} purchases credited "
        f"({credited} paid), {sent.delivered} webhooks acknowledged"
    )
    report.problems += answers.problems
    report.problems += [f"client gave up on {k}" for k in sent.gave_up[:5]]
    report.problems += [f"refused: {r}" for r in sent.refused]
    if landed != intended:
        report.problems.append(f"stored gifts hold {landed} coins, clients were told {intended}")
    if outage_gifts == 0:
        report.problems.append("no gift went through during the outage: the drill proved nothing")

    # /healthz: down throughout the outage (after a 1 s grace), fine at the end.
    if "outage" in timeline and "back" in timeline:
        during = [h for h in health if timeline["outage"] + 1 <= h[0] and h[0] + h[4] <= timeline["restart"]]
        said_down = [h for h in during if h[1] == 503 and h[2] is False and h[3]]
        report.found.append(
            f"/healthz during the outage: {len(said_down)} of {len(during)} probes said Redis down (503, with a "
            f"message); slowest {max((h[4] for h in during), default=0):.2f} s"
        )
        if not during or len(said_down) != len(during):
            report.problems.append("/healthz did not say Redis was down on every probe during the outage")
        if max((h[4] for h in during), default=0) > 3:
            report.problems.append("/healthz took over 3 s during the outage")
        last = [h for h in health if h[0] > timeline["back"] + 3]
        if not last or last[-1][2] is not True:
            report.problems.append(f"/healthz did not say Redis was fine after it came back: {last[-1:]}")
    outage_logins = [s for p, s in logins if p == "outage"]
    report.found.append(f"log-ins during the outage: {outage_logins}")
    if not outage_logins:
        report.problems.append("no log-in was tried during the outage")

    # The periodic tasks caught up: ledger checks ran after Redis came back.
    if restarted_at is not None:
        after = LedgerCheck.objects.filter(started_at__gte=restarted_at).count()
        report.found.append(f"ledger checks run by beat + worker after Redis came back: {after}")
        if after == 0:
            report.problems.append(
                "no periodic task ran after Redis came back (beat or worker did not recover)"
            )
    report.found.append(
        f"live page: {'; '.join(page_notes) or 'no observation'}; processes alive at the end: {alive}"
    )
    if not all(alive.values()):
        report.problems.append(f"a process died: {alive}")
    connection.close()
    check_ledger(report)
    return report


def _wait_for(page: Any, selector: str, seconds: float) -> float | None:
    """Seconds until `selector` appears in the page, or None if it did not within `seconds`."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    t0 = time.monotonic()
    try:
        page.wait_for_selector(selector, timeout=max(1.0, seconds) * 1000)
    except PlaywrightTimeout:
        return None
    return time.monotonic() - t0


def _note_paused_line(page: Any, notes: list[str], screenshot: Any) -> None:
    line = page.locator("[data-live-connection]")
    if line.is_visible():
        notes.append(f"showing {line.text_content().strip()[:60]!r}")
    else:
        notes.append("but its status line is not visible")
    page.screenshot(path=str(screenshot))


def _marker_gift(
    page: Any,
    notes: list[str],
    report: Report,
    url: str,
    token: str,
    gift_id: int,
    sent: Sent,
    answers: Answers,
) -> None:
    """A gift sent after the outage must reach the open page live (the broadcast path is back)."""
    key = f"drill-ro-marker-{uuid.uuid4().hex[:8]}"
    headers = {"Authorization": f"Token {token}", "Idempotency-Key": key}
    t0 = time.monotonic()
    answer = until_definitive(
        lambda: web_client(url).post(
            url, json={"gift": gift_id, "count": 1}, headers=headers, timeout=CLIENT_TIMEOUT
        ),
        answers,
        "gift API",
    )
    sent.gift(key, answer)
    if answer is None or answer.status_code != 201:
        report.problems.append("the marker gift after the outage was not accepted")
        return
    gift_send_id = int(answer.json()["id"])
    seen = _wait_for(page, f'[data-gift-feed] [data-gift-send-id="{gift_send_id}"]', 3)
    if seen is None:
        report.problems.append("a gift sent after the outage did not reach the open live page within 3 s")
    else:
        notes.append(f"a new gift appeared live {time.monotonic() - t0:.2f} s after it was sent")
