"""A small world for cross-cutting API tests: one of each role, a creator's live session,
premium post, merch item, an order and a coin purchase of the viewer; API clients that sign in
with real DRF tokens; a ledger snapshot for "nothing moved" assertions."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import redis
from django.conf import settings
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from creators import services as creator_services
from creators.models import Creator, MerchItem, Order, Post
from gifts.catalogue import GIFT_CATALOGUE
from gifts.models import Gift, LiveSession
from tests.factories import CreatorFactory
from wallet.models import Account, AccountDelta, CoinPackage, CoinPurchase, Entry, Transaction, User
from wallet.purchases import checkout

ROLES = ("anonymous", "viewer", "minor", "owner", "other_creator", "staff")
COINS = 100_000
SHIPPING = {
    "name": "Ada Viewer",
    "line1": "1 Main St",
    "city": "Springfield",
    "postcode": "12345",
    "country": "US",
}


_cards: dict[uuid.UUID, str] = {}


def card_for(purchase: CoinPurchase) -> str:
    """A test card entered on the purchase's own SetupIntent at the session's localstripe (what
    the pay page does), the same one each time it is asked for (a replay sends the same body)."""
    from wallet.tests.purchases.conftest import CARD_OK, StripeJs

    if purchase.page_token not in _cards:
        stripe_js = StripeJs(settings.STRIPE_API_BASE, settings.STRIPE_PUBLISHABLE_KEY)
        _cards[purchase.page_token] = stripe_js.card_for(purchase, CARD_OK)
    return _cards[purchase.page_token]


@dataclass
class World:
    viewer: User
    minor: User
    owner: User
    other_creator: User
    staff: User
    creator: Creator
    rival: Creator
    session: LiveSession
    post: Post
    item: MerchItem
    order: Order
    purchase: CoinPurchase
    package: CoinPackage
    rose: Gift

    def user(self, role: str) -> User | None:
        return None if role == "anonymous" else getattr(self, role)


def _rate_limit_keys(client: redis.Redis) -> Iterator[bytes]:
    prefix = settings.CACHES["default"].get("KEY_PREFIX", "")
    for pattern in (f"{prefix}:*throttle_*", f"{prefix}:*allauth:rl:*"):
        yield from client.scan_iter(match=pattern, count=1000)


@pytest.fixture(autouse=True)
def _fresh_rate_limits() -> Iterator[None]:
    """Throttle and allauth counters live in Redis across tests (and test runs on the same
    test database names); each test starts from zero."""
    client = redis.Redis.from_url(settings.REDIS_URL)
    keys = list(_rate_limit_keys(client))
    if keys:
        client.delete(*keys)
    yield
    client.close()


@pytest.fixture
def world(make_user: Callable[..., Any], fund: Callable[..., Any]) -> World:
    staff = make_user(is_staff=True, is_superuser=True, role=User.Role.STAFF)
    viewer, minor = make_user(), make_user(age=15)
    owner, other_creator = make_user(), make_user()
    creator, rival = (
        CreatorFactory.create(user=user, handle=f"maker-{user.pk}", bio="", decided_by=staff)
        for user in (owner, other_creator)
    )
    for user in (viewer, minor, owner, other_creator, staff):
        fund(user, COINS)
    gifts = [
        Gift.objects.create(name=name, coins=coins, emoji=emoji, sort_order=order)
        for order, (name, coins, emoji) in enumerate(GIFT_CATALOGUE[:4])
    ]
    session = LiveSession.objects.create(creator=creator, title="Live now")
    post = creator_services.publish_post(
        creator=creator, title="Premium", teaser="A peek.", premium_body="The whole story.", price_coins=50
    )
    item = creator_services.create_merch_item(
        creator=creator, name="Hoodie", description="Warm.", price_coins=300, stock=50
    )
    order = creator_services.place_order(
        buyer=viewer,
        item_id=item.pk,
        quantity=1,
        shipping=creator_services.ShippingAddress(**SHIPPING),
        idempotency_key=f"world-order-{uuid.uuid4().hex[:12]}",
    ).order
    package = CoinPackage.objects.create(name="Starter", coins=70, price_cents=99, currency="usd")
    purchase = checkout.start_purchase(user=viewer, idempotency_key=str(uuid.uuid4()), package_id=package.pk)
    return World(
        viewer=viewer,
        minor=minor,
        owner=owner,
        other_creator=other_creator,
        staff=staff,
        creator=creator,
        rival=rival,
        session=session,
        post=post,
        item=item,
        order=order,
        purchase=purchase,
        package=package,
        rose=gifts[0],
    )


@pytest.fixture
def api_as() -> Callable[[User | None], APIClient]:
    """An API client signed in with the user's DRF token (anonymous for None)."""

    def make(user: User | None) -> APIClient:
        client = APIClient()
        if user is not None:
            token, _ = Token.objects.get_or_create(user=user)
            client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
        return client

    return make


def ledger_snapshot() -> tuple[int, int, int, tuple[tuple[int, int], ...]]:
    """Transactions, entries, pending deltas, and every non-zero account balance (settled plus
    pending deltas: the SQL function `wallet_balance`)."""
    from django.db.models import BigIntegerField, F, Func

    exact = Account.objects.annotate(
        exact=Func(F("id"), function="wallet_balance", output_field=BigIntegerField())
    ).order_by("id")
    # Accounts are opened with nothing on them: only non-zero balances count.
    balances = tuple((pk, total) for pk, total in exact.values_list("id", "exact") if total)
    return Transaction.objects.count(), Entry.objects.count(), AccountDelta.objects.count(), balances
