"""Reads of the creators app: what a viewer may see, profiles, libraries, and earnings."""

from __future__ import annotations

import datetime
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from django.db import connection, transaction
from django.db.models import Q, QuerySet, Sum
from django.utils import timezone

from creators.charts import DayBar, chart_frame, draw_bars
from creators.models import (
    Creator,
    CreatorEarningsDay,
    CreatorSupporter,
    EarningsRollupState,
    MerchItem,
    Order,
    Post,
    Unlock,
)
from creators.payouts.selectors import PayoutTotals, payout_totals
from creators.services.earnings import EARNING_KINDS, EPOCH, SUPPORTER_CTES
from wallet.earnings import diamonds_to_cents
from wallet.models import User
from wallet.selectors import (
    account_history,
    balance_of,
    creator_entries_by_day_and_kind,
    diamond_account_id_of,
    public_names,
)

SOURCES = {"gift": "gifts", "unlock": "unlocks", "merch_release": "merch"}
PAYOUT_KINDS = ("payout", "payout_return")
CHART_RANGES = (30, 90)


# ---------------------------------------------------------------- visibility


def _staff_may(user: Any, permission: str) -> bool:
    """Staff see what the public doesn't only with the view permission of that kind of row."""
    return bool(getattr(user, "is_staff", False) and user.has_perm(permission))


def public_creator(*, handle: str, viewer: Any) -> Creator | None:
    """An approved creator by handle; the creator and staff also see a profile that is not approved."""
    creator = Creator.objects.select_related("user").filter(handle=handle.lower()).first()
    if creator is None:
        return None
    if (
        creator.is_approved
        or _staff_may(viewer, "creators.view_creator")
        or creator.user_id == getattr(viewer, "pk", None)
    ):
        return creator
    return None


def visible_post(*, post_id: int, viewer: Any) -> Post | None:
    """A post the viewer may see the teaser of: published by an approved creator and not hidden,
    or any post to its own creator and to staff."""
    post = Post.objects.select_related("creator").filter(pk=post_id).first()
    if post is None:
        return None
    if post.creator.user_id == getattr(viewer, "pk", None) or _staff_may(viewer, "creators.view_post"):
        return post
    if post.hidden or not post.creator.is_approved:
        return None
    return post


def can_see_premium(*, viewer: Any, post: Post) -> bool:
    """The premium body and file: free posts to everyone; priced posts to the owning creator,
    staff, and viewers who unlocked them. Call with a post from `visible_post`."""
    if not post.is_premium:
        return True
    if not getattr(viewer, "is_authenticated", False):
        return False
    if post.creator.user_id == viewer.pk or _staff_may(viewer, "creators.view_post"):
        return True
    return Unlock.objects.filter(user_id=viewer.pk, post_id=post.pk).exists()


def visible_merch(*, item_id: int, viewer: Any) -> MerchItem | None:
    item = MerchItem.objects.select_related("creator").filter(pk=item_id).first()
    if item is None:
        return None
    if item.creator.user_id == getattr(viewer, "pk", None) or _staff_may(viewer, "creators.view_merchitem"):
        return item
    if item.hidden or not item.creator.is_approved:
        return None
    return item


# ---------------------------------------------------------------- profile and library


@dataclass(frozen=True)
class CreatorProfile:
    creator: Creator
    posts: list[Post]
    merch: list[MerchItem]
    live_session: Any
    gift_diamonds: int


def creator_profile(*, creator: Creator, viewer: Any) -> CreatorProfile:
    owner = creator.user_id == getattr(viewer, "pk", None) or _staff_may(viewer, "creators.view_post")
    posts = creator.posts.all() if owner else creator.posts.filter(hidden=False)
    merch = creator.merch.all() if owner else creator.merch.filter(hidden=False)
    return CreatorProfile(
        creator=creator,
        posts=list(posts[:50]),
        merch=list(merch[:50]),
        live_session=creator.live_sessions.filter(status="live").first(),
        gift_diamonds=creator_gift_total(creator=creator),
    )


def unlocked_posts(*, user: User) -> QuerySet[Unlock]:
    return Unlock.objects.filter(user=user).select_related("post__creator").order_by("-created_at")


def orders_of(*, user: User) -> QuerySet[Order]:
    return Order.objects.filter(buyer=user).select_related("item__creator").order_by("-created_at")


def orders_for_creator(*, creator: Creator, status: str | None = None) -> QuerySet[Order]:
    orders = (
        Order.objects.filter(item__creator=creator).select_related("item", "buyer").order_by("-created_at")
    )
    if status:
        orders = orders.filter(status=status)
    return orders


# ---------------------------------------------------------------- earnings


def creator_account_id(*, creator: Creator) -> int | None:
    """The creator's diamond account (None before approval)."""
    return diamond_account_id_of(user_id=creator.user_id)


@contextmanager
def one_snapshot() -> Iterator[None]:
    """Rollups, horizon and live tail read in one snapshot, so a rollup committing meanwhile
    neither double-counts nor drops a day. (Inside an outer atomic block, e.g. a test, the
    isolation level can no longer change; that block's transaction is used as it is.)"""
    outer = connection.in_atomic_block
    with transaction.atomic():
        if not outer:
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        yield


def _horizon() -> datetime.datetime:
    return EarningsRollupState.objects.filter(pk=1).values_list("horizon", flat=True).first() or EPOCH


def _live_supporters(account_id: int, horizon: datetime.datetime) -> dict[int, int]:
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            WITH src AS MATERIALIZED (
                SELECT account_id, transaction_id, kind, amount, payer_id
                  FROM wallet_creator_entries(%s::bigint, %s::timestamptz, NULL)
                 WHERE amount > 0 AND kind IN ('gift', 'unlock', 'merch_release')
            ),
            {SUPPORTER_CTES}
            SELECT supporter_id, sum(amount) FROM credited WHERE supporter_id IS NOT NULL GROUP BY 1
            """,
            [account_id, horizon],
        )
        return {int(supporter): int(total) for supporter, total in cursor.fetchall()}


def _gift_total(account_id: int) -> int:
    horizon = _horizon()
    rolled = CreatorEarningsDay.objects.filter(account_id=account_id, kind="gift").aggregate(
        t=Sum("diamonds")
    )["t"]
    live = sum(
        total
        for _, kind, total, _ in creator_entries_by_day_and_kind(account_id=account_id, since=horizon)
        if kind == "gift"
    )
    return int(rolled or 0) + live


def creator_gift_total(*, creator: Creator) -> int:
    """Diamonds the creator earned from gifts, from the ledger (rollups plus the live tail)."""
    account_id = creator_account_id(creator=creator)
    if account_id is None:
        return 0
    with one_snapshot():
        return _gift_total(account_id)


@dataclass(frozen=True)
class Supporter:
    user_id: int
    name: str
    diamonds: int


@dataclass(frozen=True)
class RecentLine:
    when: datetime.datetime
    kind: str
    kind_label: str
    reference: str
    amount: int


@dataclass
class EarningsDashboard:
    diamonds: int
    cash_cents: int
    days: int
    bars: list[DayBar]
    period_total: int
    by_source_period: dict[str, int]
    by_source_all_time: dict[str, int]
    top_supporters: list[Supporter]
    recent: list[RecentLine]
    # Paid out (settled, less anything Stripe reversed), from the payouts written with their
    # ledger postings; diamonds still in flight are not "paid" yet and are shown apart.
    payouts_diamonds: int
    held_in_escrow: int
    rollup_horizon: datetime.datetime
    chart_max: int = 0
    chart: dict[str, Any] = field(default_factory=dict)
    payouts_cents: int = 0
    payouts_in_flight_diamonds: int = 0


def _source(kind: str) -> str:
    if kind in SOURCES:
        return SOURCES[kind]
    if kind in PAYOUT_KINDS:
        return "payouts"
    return "other"


def _empty_sources() -> dict[str, int]:
    return {"gifts": 0, "unlocks": 0, "merch": 0, "other": 0}


def creator_earnings_dashboard(
    *, creator: Creator, days: int = 30, today: datetime.date | None = None
) -> EarningsDashboard:
    """The studio dashboard in one snapshot: the exact balance, per-day earnings (gifts, unlocks,
    shipped merch) for the last `days` UTC days, breakdown by source, top supporters, recent
    entries and payouts. Reads the rollups plus the ledger rows created since their horizon."""
    if days not in CHART_RANGES:
        days = CHART_RANGES[0]
    today = today or timezone.now().astimezone(datetime.UTC).date()
    since = today - datetime.timedelta(days=days - 1)
    account_id = creator_account_id(creator=creator)
    per_day: dict[datetime.date, int] = defaultdict(int)
    period = _empty_sources()
    all_time = _empty_sources()
    paid = PayoutTotals(paid_diamonds=0, paid_cents=0, in_flight_diamonds=0, in_flight_cents=0, count_paid=0)
    supporters: list[Supporter] = []
    recent: list[RecentLine] = []
    diamonds = 0
    horizon = EPOCH
    with one_snapshot():
        if account_id is not None:
            diamonds = balance_of(account_id=account_id)
            horizon = _horizon()
            rows: list[tuple[datetime.date, str, int]] = [
                (day, kind, int(total))
                for day, kind, total in CreatorEarningsDay.objects.filter(account_id=account_id)
                .values("day", "kind")
                .annotate(total=Sum("diamonds"))
                .values_list("day", "kind", "total")
            ]
            rows += [
                (day, kind, total)
                for day, kind, total, _ in creator_entries_by_day_and_kind(
                    account_id=account_id, since=horizon
                )
            ]
            for day, kind, total in rows:
                source = _source(kind)
                if source == "payouts":
                    continue
                all_time[source] += total
                if day >= since:
                    period[source] += total
                    if kind in EARNING_KINDS:
                        per_day[day] += total
            supporters = _top_supporters(account_id, horizon)
            paid = payout_totals(creator=creator)
            recent = _recent(account_id)
    bars, top = draw_bars(
        [
            DayBar(
                day=since + datetime.timedelta(days=i),
                diamonds=per_day.get(since + datetime.timedelta(days=i), 0),
            )
            for i in range(days)
        ]
    )
    held = Order.objects.filter(item__creator=creator, status=Order.Status.PLACED).aggregate(
        t=Sum("diamonds")
    )["t"]
    return EarningsDashboard(
        diamonds=diamonds,
        cash_cents=diamonds_to_cents(diamonds),
        days=days,
        bars=bars,
        period_total=sum(bar.diamonds for bar in bars),
        by_source_period=period,
        by_source_all_time=all_time,
        top_supporters=supporters,
        recent=recent,
        payouts_diamonds=paid.paid_diamonds,
        payouts_cents=paid.paid_cents,
        payouts_in_flight_diamonds=paid.in_flight_diamonds,
        held_in_escrow=int(held or 0),
        rollup_horizon=horizon,
        chart_max=top,
        chart=chart_frame(days),
    )


def _top_supporters(account_id: int, horizon: datetime.datetime, limit: int = 10) -> list[Supporter]:
    live = _live_supporters(account_id, horizon)
    rolled = CreatorSupporter.objects.filter(account_id=account_id)
    # The true top `limit` is among the rolled-up top `limit` and whoever supported since the horizon.
    totals: dict[int, int] = dict(
        rolled.filter(
            Q(pk__in=rolled.order_by("-diamonds", "supporter_id").values("pk")[:limit])
            | Q(supporter_id__in=live)
        ).values_list("supporter_id", "diamonds")
    )
    for supporter_id, amount in live.items():
        totals[supporter_id] = totals.get(supporter_id, 0) + amount
    ranked = sorted(totals.items(), key=lambda item: (-item[1], item[0]))[:limit]
    names = public_names(user_ids=[uid for uid, _ in ranked])
    return [Supporter(user_id=uid, name=names.get(uid, "?"), diamonds=amount) for uid, amount in ranked]


def _recent(account_id: int, limit: int = 15) -> list[RecentLine]:
    return [
        RecentLine(
            when=line.when,
            kind=line.kind,
            kind_label=line.kind_label,
            reference=line.reference,
            amount=line.amount,
        )
        for line in account_history(account_id=account_id, limit=limit)
    ]
