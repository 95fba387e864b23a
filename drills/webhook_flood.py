"""The Stripe webhook endpoint flooded over HTTP (uvicorn) at 32 concurrent deliveries with
duplicates, out-of-order events, unknown types, stale signatures and garbage.

Per purchase (paid at Stripe, not credited yet): its `payment_intent.succeeded` event five
times (for half the purchases back to back, so concurrent senders race on one event), the
same success again under a new event id, a `payment_intent.payment_failed` from
before the success (in any order with it), an unknown event type, a stale-signed success and
one kind of garbage; then, once every success is acknowledged, a failure from after the
success, twice. Every valid delivery must get a 200 and every bad one a 4xx (no 5xx);
each purchase is credited exactly once, failures after the success change nothing, every
stored event is processed or ignored (none failed), and the ledger check is clean.
"""

from __future__ import annotations

import json
import queue
import random
import threading
import time
import uuid
from typing import Any

import requests
from django.db import connection
from django.db.models import Count

from drills.harness import BASE_DIR, Answers, Report, asgi_server, check_ledger, process_env, stop, web_client
from drills.payments import (
    Delivery,
    delivery,
    event,
    paid_at_stripe,
    payment_intent,
    sign,
    stripe_stand_in,
    succeeded,
)
from drills.world import people

CONCURRENCY = 32
GARBAGE = ("missing", "garbage header", "wrong secret", "altered body", "not json", "not an event")


def _garbage(kind: str, purchase: Any) -> Delivery:
    body = json.dumps(event("payment_intent.succeeded", payment_intent(purchase, "succeeded"))).encode()
    if kind in ("missing", "garbage header", "wrong secret"):
        return Delivery(body, 400, f"garbage: {kind}", signing=kind)
    if kind == "altered body":
        # Signed, then the amount changed on the way: the signature no longer matches.
        signed, header = sign(body)
        altered = signed.replace(f'"amount": {purchase.amount_cents}'.encode(), b'"amount": 1')
        return Delivery(altered, 400, "garbage: altered body", signing="as given", signature=header)
    raw = (
        b"not json at all" if kind == "not json" else json.dumps({"object": "event", "id": "evt_x"}).encode()
    )
    return Delivery(raw, 400, f"garbage: {kind}")


def run(small: bool) -> Report:
    # The webhook endpoint re-reads every PaymentIntent from Stripe: the drill pays at its own stand-in.
    with stripe_stand_in():
        return _run(small)


def _run(small: bool) -> Report:
    from wallet import selectors
    from wallet.models import CoinPurchase, ReconciliationIssue, Transaction, WebhookEvent

    count = 60 if small else 500
    report = Report(f"webhook flood: {count} purchases x duplicates, reordering and garbage")
    logs = BASE_DIR / "var" / "drills"
    logs.mkdir(parents=True, exist_ok=True)
    tag = uuid.uuid4().hex[:6]
    rng = random.Random(9)

    buyers = people(viewers=max(4, count // 10), creators=0, coins_each=1).viewers
    purchases = paid_at_stripe(buyers, count, tag=tag)
    before = int(time.time()) - 60
    units: list[list[Delivery]] = []
    second_wave: list[Delivery] = []
    valid_ids: set[str] = set()
    for n, purchase in enumerate(purchases):
        success = succeeded(purchase)
        again = succeeded(purchase)  # the same success under another event id
        failed_before = delivery(
            "payment_intent.payment_failed",
            payment_intent(purchase, "requires_payment_method"),
            label="failed before success",
            created=before,
        )
        unknown = delivery(
            "payment_intent.created",
            payment_intent(purchase, "requires_payment_method"),
            label="unknown type",
        )
        stale = Delivery(succeeded(purchase).body, 400, "stale signature", signing="stale")
        others = [again, failed_before, unknown, stale, _garbage(GARBAGE[n % len(GARBAGE)], purchase)]
        # Half the purchases get their five copies back to back, so concurrent senders race
        # on one event; the other half have them scattered through the flood.
        units += [[success] * 5] if n % 2 else [[success]] * 5
        units += [[d] for d in others]
        failed_after = delivery(
            "payment_intent.payment_failed",
            payment_intent(purchase, "requires_payment_method"),
            label="failed after success",
        )
        second_wave += [failed_after] * 2
        for d in (success, again, failed_before, unknown, failed_after):
            valid_ids.add(json.loads(d.body)["id"])
    rng.shuffle(units)
    first_wave = [d for unit in units for d in unit]
    rng.shuffle(second_wave)
    connection.close()

    env = process_env(LOG_LEVEL="WARNING")
    try:
        server, base = asgi_server(env=env, log=logs / "webhook_flood-web.log", workers=2)
    except RuntimeError as exc:
        report.problems.append(str(exc))
        return report
    answers = Answers()
    wrong: list[str] = []
    wrong_lock = threading.Lock()

    def flood(deliveries: list[Delivery]) -> float:
        work: queue.SimpleQueue[Delivery | None] = queue.SimpleQueue()
        for d in deliveries:
            work.put(d)
        for _ in range(CONCURRENCY):
            work.put(None)

        def sender() -> None:
            http = web_client(base)
            while (d := work.get()) is not None:
                for _attempt in range(5):  # Stripe retries a 5xx or a dropped connection
                    t0 = time.monotonic()
                    try:
                        answer = http.post(
                            f"{base}/stripe/webhook/", data=d.body, headers=d.headers(), timeout=30
                        )
                    except requests.RequestException as exc:
                        answers.note("webhook", "no answer", time.monotonic() - t0, f"({d.label}: {exc!r})")
                        continue
                    status = answer.status_code
                    detail = f"({d.label}: {answer.text[:120]!r})" if status >= 500 else ""
                    answers.note("webhook", str(status), time.monotonic() - t0, detail)
                    if status < 500:
                        if (status == 200) != (d.expect == 200) or (
                            status != 200 and not 400 <= status < 500
                        ):
                            with wrong_lock:
                                wrong.append(
                                    f"{d.label}: got {status}, expected {d.expect}: {answer.text[:100]}"
                                )
                        break

        threads = [threading.Thread(target=sender) for _ in range(CONCURRENCY)]
        t0 = time.monotonic()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        return time.monotonic() - t0

    try:
        seconds = flood(first_wave) + flood(second_wave)
    finally:
        stop(server)
    connection.close()

    sent = len(first_wave) + len(second_wave)
    report.did.append(
        f"{sent} deliveries for {count} purchases at {CONCURRENCY} concurrent over HTTP (uvicorn, 2 workers): "
        f"{len(valid_ids)} distinct valid events, {sum(d.expect != 200 for d in first_wave)} stale or garbage"
    )
    report.found.append(f"answers: {answers.summary('before')}")
    report.found.append(f"{sent / seconds:.0f} deliveries/s ({seconds:.1f} s)")
    report.problems += answers.problems
    report.problems += wrong[:10]
    if len(wrong) > 10:
        report.problems.append(f"... {len(wrong) - 10} more deliveries answered wrongly")

    ids = [p.pk for p in purchases]
    paid = CoinPurchase.objects.filter(pk__in=ids, status=CoinPurchase.Status.PAID).count()
    credits = Transaction.objects.filter(idempotency_key__in=[f"purchase-{pk}" for pk in ids]).count()
    bought: dict[int, int] = {}
    for p in purchases:
        bought[p.user_id] = bought.get(p.user_id, 0) + p.coins
    held = {b.pk: selectors.coin_balance(user_id=b.pk) - 1 for b in buyers}
    report.lost = max(0, count - credits) + sum(
        max(0, bought.get(pk, 0) - coins) for pk, coins in held.items()
    )
    report.doubled = max(0, credits - count) + sum(
        max(0, coins - bought.get(pk, 0)) for pk, coins in held.items()
    )
    if paid != count:
        report.problems.append(
            f"{count - paid} purchases are not 'paid' at the end (a failure after success changed them?)"
        )
    leftover = CoinPurchase.objects.filter(pk__in=ids).exclude(failure_code="").count()
    if leftover:
        report.problems.append(f"{leftover} paid purchases still carry a failure code")

    stored = WebhookEvent.objects.filter(stripe_event_id__in=valid_ids)
    by_status = dict(stored.values_list("status").annotate(n=Count("id")).values_list("status", "n"))
    outcomes = dict(stored.values_list("outcome").annotate(n=Count("id")).values_list("outcome", "n"))
    multi = stored.filter(attempts__gt=1).count()
    report.found.append(
        f"{count} purchases: {paid} paid, {credits} credit transactions; inbox: {stored.count()} of "
        f"{len(valid_ids)} valid events stored, by status {by_status}, by outcome {outcomes}, "
        f"{multi} processed more than once"
    )
    if stored.count() != len(valid_ids):
        report.problems.append(f"{len(valid_ids) - stored.count()} valid events were not stored")
    if set(by_status) - {WebhookEvent.Status.PROCESSED, WebhookEvent.Status.IGNORED}:
        report.problems.append(f"stored events not processed or ignored: {by_status}")
    if outcomes.get("credited", 0) != count:
        report.problems.append(f"{outcomes.get('credited', 0)} events credited a purchase, expected {count}")
    after_ids = [json.loads(d.body)["id"] for d in second_wave]
    moved = stored.filter(stripe_event_id__in=after_ids).exclude(outcome="already_credited").count()
    if moved:
        report.problems.append(f"{moved} failures after the success were not 'already credited'")
    ignored = stored.filter(type="payment_intent.created").exclude(status=WebhookEvent.Status.IGNORED).count()
    if ignored:
        report.problems.append(f"{ignored} unknown-type events were not ignored")
    issues = ReconciliationIssue.objects.filter(purchase_id__in=ids).count()
    if issues:
        report.problems.append(f"{issues} reconciliation issues recorded for correct events")
    if answers.count(answer="400") == 0:
        report.problems.append("no bad delivery was refused: the drill proved nothing")
    check_ledger(report)
    return report
