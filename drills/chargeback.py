"""Chargeback laundering, end to end over HTTP (uvicorn) with signed webhooks.

Viewers buy coins with stolen cards (credited by their signed `payment_intent.succeeded`) and
gift every coin to accomplice creators: half of each viewer's gifts before a moment `cleared`,
half after. The payout batch is planned as of `cleared` + EARNINGS_HOLD_DAYS (the drill moves
time there), so only the first half has cleared the hold. Then every purchase is disputed:
`charge.dispute.created` and `charge.dispute.closed` (lost), each delivered 3 times, several
purchases at once. While the disputes are open nothing of theirs is payable; at the end the
batch paid only cleared earnings, every unpaid diamond the stolen coins funded is reversed,
the reported platform loss equals exactly what was paid out, and no coin or diamond was made.
"""

from __future__ import annotations

import datetime
import json
import queue
import threading
import uuid
from collections import Counter
from typing import Any

from django.conf import settings
from django.db import connection
from django.utils import timezone

from drills.harness import BASE_DIR, Report, asgi_server, check_ledger, process_env, stop, web_client
from drills.payments import Delivery, dispute, event, packages, pay_at_stripe, stripe_stand_in, succeeded

CONCURRENCY = 8
DELIVERIES = 3


def _post_all(base: str, units: list[list[Delivery]], report: Report) -> None:
    """Send each unit's deliveries in order, units concurrently; every one must get a 200."""
    work: queue.SimpleQueue[list[Delivery] | None] = queue.SimpleQueue()
    for unit in units:
        work.put(unit)
    for _ in range(CONCURRENCY):
        work.put(None)
    answers: Counter[int] = Counter()
    lock = threading.Lock()

    def sender() -> None:
        http = web_client(base)
        while (unit := work.get()) is not None:
            for d in unit:
                response = http.post(f"{base}/stripe/webhook/", data=d.body, headers=d.headers(), timeout=60)
                with lock:
                    answers[response.status_code] += 1
                    if response.status_code != 200 and len(report.problems) < 20:
                        report.problems.append(f"{d.label}: {response.status_code} {response.text[:120]}")

    threads = [threading.Thread(target=sender) for _ in range(CONCURRENCY)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    report.found.append(f"webhook answers: {dict(answers)}")


def _same_event(type: str, obj: dict[str, Any], label: str) -> list[Delivery]:
    body = json.dumps(event(type, obj)).encode()
    return [Delivery(body, 200, label)] * DELIVERIES  # Stripe resends the same event id


def run(small: bool) -> Report:
    # The web server re-reads each PaymentIntent from Stripe before crediting: the stolen cards
    # pay at a localstripe of the drill's own.
    with stripe_stand_in():
        return _run(small)


def _run(small: bool) -> Report:
    from creators import services as creator_services
    from creators.models import Payout
    from creators.payouts.services import accounts, driving
    from gifts.models import Gift
    from gifts.services import send_gift
    from wallet import earnings, selectors
    from wallet.earnings import diamonds_to_cents
    from wallet.models import (
        CoinPurchase,
        CoinReceivable,
        EarningsReversal,
        Transaction,
        User,
        WebhookEvent,
    )
    from wallet.services import diamond_account_id

    viewers_n, creators_n = (20, 5) if small else (100, 20)
    # The accomplices are paid by the in-project provider, in this process (as the payout
    # benchmark does); the web server keeps the production-like settings.
    settings.PAYOUT_PROVIDER = "local"
    report = Report(f"chargeback laundering: {viewers_n} stolen cards, {creators_n} accomplice creators")
    logs = BASE_DIR / "var" / "drills"
    logs.mkdir(parents=True, exist_ok=True)
    tag = uuid.uuid4().hex[:8]
    hold = datetime.timedelta(days=settings.EARNINGS_HOLD_DAYS)
    dob = datetime.date(1990, 1, 1)

    staff = User.objects.create_user(
        f"drill-cb-staff-{tag}@drill.local", None, is_staff=True, is_superuser=True, date_of_birth=dob
    )
    creators = []
    for i in range(creators_n):
        user = User.objects.create_user(f"drill-cb-c-{tag}-{i}@drill.local", None, date_of_birth=dob)
        creator = creator_services.apply_for_creator(
            user=user, display_name=f"Accomplice {i}", handle=f"cb-{tag}-{i}", bio="", category="Art"
        )
        creator = creator_services.approve_creator(creator_id=creator.pk, decided_by=staff)
        account = accounts.connect_payout_account(creator=creator)
        accounts.set_payout_account_verified(
            account_id=account.pk, staff=staff, verified=True, reason="Drill: identity checked"
        )
        creators.append(creator)
    posts = [
        creator_services.publish_post(
            creator=c, price_coins=10, title="Thanks", teaser="Thanks.", premium_body="Thanks."
        )
        for c in creators
    ]
    rose = Gift.objects.filter(coins=1, active=True).first() or Gift.objects.create(
        name=f"Drill rose {tag}", coins=1
    )
    viewers = [
        User.objects.create_user(f"drill-cb-v-{tag}-{i}@drill.local", None, date_of_birth=dob)
        for i in range(viewers_n)
    ]
    # Stolen cards buy the larger packages, so each accomplice clears the payout minimum.
    catalogue = [p for p in packages() if p.coins >= 1_400] or packages()
    purchases = CoinPurchase.objects.bulk_create(
        [
            CoinPurchase(
                user=v,
                page_token=uuid.uuid4(),
                package=catalogue[n % len(catalogue)],
                coins=catalogue[n % len(catalogue)].coins,
                amount_cents=catalogue[n % len(catalogue)].price_cents,
                currency=settings.COIN_CURRENCY,
                status=CoinPurchase.Status.PROCESSING,
                stripe_payment_intent_id=f"pi_drill_cb_{tag}_{n}",
            )
            for n, v in enumerate(viewers)
        ]
    )
    purchases = pay_at_stripe(purchases)
    connection.close()

    try:
        server, base = asgi_server(env=process_env(LOG_LEVEL="WARNING"), log=logs / "chargeback-web.log")
    except RuntimeError as exc:
        report.problems.append(str(exc))
        return report
    try:
        _post_all(base, [[succeeded(p)] for p in purchases], report)
        # Reloaded: crediting stored each purchase's charge, which the disputes name.
        purchases = list(CoinPurchase.objects.filter(pk__in=[p.pk for p in purchases]).order_by("pk"))
        credited = sum(p.status == CoinPurchase.Status.PAID for p in purchases)
        report.did.append(f"{credited} of {len(purchases)} stolen-card purchases credited by signed webhooks")

        # Every coin is gifted: the first half of each viewer's coins before `cleared`, the rest after.
        earned_before: Counter[int] = Counter()
        earned_after: Counter[int] = Counter()
        cleared = timezone.now()
        for part, earned in ((0, earned_before), (1, earned_after)):
            if part == 1:
                cleared = timezone.now()
            for n, (viewer, purchase) in enumerate(zip(viewers, purchases, strict=True)):
                coins = purchase.coins // 2 if part == 0 else purchase.coins - purchase.coins // 2
                target = (n + part) % creators_n
                send_gift(
                    sender=viewer,
                    gift=rose,
                    count=coins,
                    post=posts[target],
                    idempotency_key=f"drill-cb-{tag}-{n}-{part}",
                )
                earned[creators[target].pk] += coins * rose.coins
        report.did.append(
            f"{sum(earned_before.values())} coins gifted before the hold's cut-off, "
            f"{sum(earned_after.values())} after"
        )

        run = driving.run_payout_batch(period=f"drill-cb-{tag}", as_of=cleared + hold)
        mine = {c.pk: c for c in creators}
        paid = {
            p.creator_id: p.diamonds
            for p in Payout.objects.filter(batch=run.batch, creator_id__in=mine, status=Payout.Status.PAID)
        }
        report.did.append(
            f"payout batch as of the cut-off + {settings.EARNINGS_HOLD_DAYS} days: "
            f"{len(paid)} accomplices paid {sum(paid.values())} diamonds"
        )
        for creator in creators:
            cleared_diamonds = earned_before[creator.pk]
            got = paid.get(creator.pk, 0)
            # A payout pays the diamonds covering whole cents: less than a cent's worth stays.
            if got > cleared_diamonds or diamonds_to_cents(cleared_diamonds - got) >= 1:
                report.problems.append(
                    f"creator {creator.pk}: paid {got} diamonds, {cleared_diamonds} had cleared the hold"
                )

        _post_all(
            base,
            [
                _same_event("charge.dispute.created", dispute(p, "needs_response"), "dispute created")
                for p in purchases
            ],
            report,
        )
        account_ids = {c.pk: diamond_account_id(user_id=c.user_id) for c in creators}
        payable = earnings.payable_diamonds(account_ids=list(account_ids.values()), as_of=cleared + 2 * hold)
        if any(payable.values()):
            report.problems.append(f"diamonds payable while their disputes are open: {payable}")
        else:
            report.found.append("while the disputes were open, nothing the stolen coins funded was payable")
        _post_all(
            base,
            [_same_event("charge.dispute.closed", dispute(p, "lost"), "dispute lost") for p in purchases],
            report,
        )
    finally:
        stop(server)
    connection.close()

    ids = [p.pk for p in purchases]
    lost_purchases = CoinPurchase.objects.filter(pk__in=ids, status=CoinPurchase.Status.DISPUTE_LOST).count()
    stored = WebhookEvent.objects.filter(
        type__startswith="charge.dispute.",
        payload__data__object__payment_intent__in=[p.stripe_payment_intent_id for p in purchases],
    )
    report.found.append(
        f"{lost_purchases} of {len(ids)} purchases charged back; "
        f"{stored.count()} dispute events stored, {stored.filter(attempts__gt=1).count()} processed more than once"
    )
    if lost_purchases != len(ids):
        report.problems.append(f"{len(ids) - lost_purchases} purchases are not 'dispute lost'")
    rows = EarningsReversal.objects.filter(purchase_id__in=ids)
    reversed_total = sum(rows.values_list("diamonds_reversed", flat=True))
    lost_total = sum(rows.values_list("diamonds_lost", flat=True))
    paid_total = sum(paid.values())
    earned_total = sum(earned_before.values()) + sum(earned_after.values())
    reversals = Transaction.objects.filter(
        kind="earnings_reversal", reference__in=[f"purchase:{pk}" for pk in ids]
    )
    keys = Counter(reversals.values_list("idempotency_key", flat=True))
    report.found.append(
        f"{earned_total} diamonds earned from stolen coins: {paid_total} paid out, {reversed_total} reversed "
        f"in {reversals.count()} ledger transactions, platform loss reported {lost_total}"
    )
    left = {c.pk: selectors.diamond_balance(user_id=c.user_id) for c in creators}
    if any(left.values()):
        report.problems.append(f"accomplices still hold diamonds the stolen coins funded: {left}")
    if lost_total != paid_total:
        report.problems.append(f"reported loss {lost_total} is not what was paid out ({paid_total})")
    if reversed_total + paid_total != earned_total:
        report.problems.append(
            f"reversed {reversed_total} + paid {paid_total} is not the {earned_total} earned"
        )
    report.doubled = max(0, reversed_total + lost_total - earned_total) + sum(n - 1 for n in keys.values())
    report.lost = max(0, earned_total - reversed_total - lost_total)
    # Coins: the wallets are empty and each viewer owes exactly the coins they spent.
    owed = CoinReceivable.objects.filter(purchase_id__in=ids)
    owed_total = sum(owed.values_list("coins", flat=True))
    bought = sum(p.coins for p in purchases)
    held = sum(selectors.coin_balance(user_id=v.pk) for v in viewers)
    report.found.append(f"coins: {bought} bought, {held} left in the wallets, {owed_total} owed back")
    if held or owed_total != bought:
        report.problems.append(f"coins made or lost: {bought} bought, {held} held, {owed_total} owed")
    check_ledger(report)
    return report
