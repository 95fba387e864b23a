"""Many viewers gifting one creator at once, over HTTP (the REST endpoint, token auth), on
real PostgreSQL: the ledger, the boards and the wallets stay exact."""

from __future__ import annotations

import json
import random
import uuid
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client
from rest_framework.authtoken.models import Token

from creators.models import Creator
from gifts import selectors
from gifts.models import Gift, GiftSend, LiveSession
from tests.concurrency import run_concurrently
from wallet import services as wallet_services
from wallet.selectors import coin_balance, diamond_balance

VIEWERS = 50
GIFTS = 1000
THREADS = 32
RICH_COINS = 5_000
POOR_COINS = 40  # ten viewers run out part-way: their later gifts must be refused, not overdrawn


def run_jobs(jobs: list[list[Any]], work: Callable[[Client, Any], Any]) -> list[Any]:
    """Run each job list in its own thread with its own Client; all threads start together."""

    def thread(t: int) -> list[Any]:
        client = Client()
        return [work(client, item) for item in jobs[t]]

    results: list[Any] = []
    for outcome in run_concurrently(len(jobs), thread, timeout=240):
        if isinstance(outcome, Exception):
            raise outcome
        results += outcome
    return results


@pytest.mark.django_db(transaction=True)
def test_a_thousand_gifts_from_fifty_viewers_at_32_concurrent_requests_keep_every_sum_exact(
    make_user: Callable[..., Any],
    fund: Callable[..., Any],
    creator: Creator,
    live_session: LiveSession,
    catalogue: dict[str, Gift],
) -> None:
    viewers = [make_user(display_name=f"Viewer {i}") for i in range(VIEWERS)]
    funded = {}
    for i, viewer in enumerate(viewers):
        funded[viewer.pk] = POOR_COINS if i >= VIEWERS - 10 else RICH_COINS
        fund(viewer, funded[viewer.pk])
    tokens = {viewer.pk: Token.objects.create(user=viewer).key for viewer in viewers}
    menu = [catalogue[name] for name in ("Rose", "Finger Heart", "Doughnut", "Hand Hearts")]
    rng = random.Random(20261125)
    plan = [
        (viewers[i % VIEWERS].pk, rng.choice(menu), rng.randint(1, 5), str(uuid.uuid4()))
        for i in range(GIFTS)
    ]
    url = f"/api/v1/live/{live_session.pk}/gifts/"

    def send(client: Client, item: tuple[int, Gift, int, str]) -> tuple[int, int, dict[str, Any]]:
        viewer_id, gift, count, key = item
        response = client.post(
            url,
            json.dumps({"gift": gift.pk, "count": count}),
            content_type="application/json",
            headers={"Authorization": f"Token {tokens[viewer_id]}", "Idempotency-Key": key},
        )
        return viewer_id, response.status_code, response.json()

    results = run_jobs([plan[t::THREADS] for t in range(THREADS)], send)

    statuses = Counter(status for _, status, _ in results)
    assert set(statuses) <= {201, 402}, statuses
    assert statuses[201] > 800 and statuses[402] > 0, statuses
    assert all(body["code"] == "insufficient_funds" for _, status, body in results if status == 402)

    sends = list(GiftSend.objects.values("id", "sender_id", "coins", "count", "gift_id"))
    assert sorted(s["id"] for s in sends) == sorted(
        body["id"] for _, status, body in results if status == 201
    )
    gifted = sum(s["coins"] for s in sends)
    assert gifted == sum(body["coins"] for _, status, body in results if status == 201)
    assert diamond_balance(user_id=creator.user_id) == gifted

    per_sender: Counter[int] = Counter()
    for s in sends:
        per_sender[s["sender_id"]] += s["coins"]
    for viewer in viewers:
        balance = coin_balance(user_id=viewer.pk)
        assert balance >= 0
        assert balance == funded[viewer.pk] - per_sender[viewer.pk]

    session_board = selectors.session_board(session_id=live_session.pk, limit=None)
    assert {g.user_id: g.coins for g in session_board} == dict(per_sender)
    assert [g.coins for g in session_board] == sorted(per_sender.values(), reverse=True)
    assert {g.user_id: g.coins for g in selectors.creator_board(creator_id=creator.pk, limit=None)} == dict(
        per_sender
    )
    state = selectors.session_state(session=live_session)
    assert state.version == len(sends) and state.total_coins == gifted
    assert state.goal is not None
    assert state.goal.progress == sum(s["count"] for s in sends if s["gift_id"] == catalogue["Rose"].pk)

    check = wallet_services.run_ledger_check()
    assert check.ok, check.problems
    wallet_services.roll_up_all()
    assert diamond_balance(user_id=creator.user_id) == gifted
    assert wallet_services.run_ledger_check().ok


@pytest.mark.django_db(transaction=True)
def test_the_same_click_retried_by_16_concurrent_requests_sends_one_gift(
    make_user: Callable[..., Any],
    fund: Callable[..., Any],
    creator: Creator,
    live_session: LiveSession,
    catalogue: dict[str, Gift],
) -> None:
    viewer = make_user()
    fund(viewer, 1_000)
    token = Token.objects.create(user=viewer).key
    doughnut = catalogue["Doughnut"]
    url = f"/api/v1/live/{live_session.pk}/gifts/"

    def send(client: Client, _: int) -> tuple[int, dict[str, Any]]:
        response = client.post(
            url,
            json.dumps({"gift": doughnut.pk, "count": 2}),
            content_type="application/json",
            headers={"Authorization": f"Token {token}", "Idempotency-Key": "one-click"},
        )
        return response.status_code, response.json()

    results = run_jobs([[i] for i in range(16)], send)

    assert {status for status, _ in results} == {201}
    assert len({json.dumps(body, sort_keys=True) for _, body in results}) == 1
    assert GiftSend.objects.count() == 1
    assert coin_balance(user_id=viewer.pk) == 1_000 - 60
    assert diamond_balance(user_id=creator.user_id) == 60
    assert wallet_services.run_ledger_check().ok
