from __future__ import annotations

import datetime
from typing import Any

from django.core.management.base import BaseCommand
from django.db import transaction

from creators.models import Creator
from gifts.catalogue import GIFT_CATALOGUE
from gifts.models import Gift, LiveSession
from wallet import selectors, services
from wallet.catalogue import COIN_PACKAGES
from wallet.models import CoinPackage, User

DEMO_PASSWORD = "coinsite-demo"
VIEWER_EMAIL = "viewer@demo.coinsite"
CREATOR_EMAIL = "creator@demo.coinsite"
STAFF_EMAIL = "staff@demo.coinsite"
DEMO_VIEWER_COINS = 5000


class Command(BaseCommand):
    help = (
        "Seed demo data (idempotent: running it again changes nothing): the gift catalogue, the coin "
        f"packages, a demo viewer with {DEMO_VIEWER_COINS} coins, an approved creator who is live, and a "
        "staff superuser. Prints the logins."
    )

    def _user(self, email: str, **fields: Any) -> User:
        user = User.objects.filter(email=email).first()
        if user is None:
            user = User.objects.create_user(email, DEMO_PASSWORD, **fields)
        return user

    @transaction.atomic
    def handle(self, *args: Any, **options: Any) -> None:
        for order, (name, coins, emoji) in enumerate(GIFT_CATALOGUE):
            Gift.objects.get_or_create(
                name=name, defaults={"coins": coins, "emoji": emoji, "sort_order": order}
            )
        for order, (coins, cents) in enumerate(COIN_PACKAGES):
            CoinPackage.objects.get_or_create(
                coins=coins, price_cents=cents, defaults={"name": f"{coins:,} coins", "sort_order": order}
            )

        adult = datetime.date(1995, 5, 17)
        viewer = self._user(VIEWER_EMAIL, display_name="Demo Viewer", date_of_birth=adult)
        services.issue_coins(
            user=viewer, coins=DEMO_VIEWER_COINS, idempotency_key="seed-demo-viewer-coins", memo="Demo coins"
        )
        creator_user = self._user(
            CREATOR_EMAIL, display_name="Demo Creator", date_of_birth=adult, role=User.Role.CREATOR
        )
        creator, _ = Creator.objects.get_or_create(
            user=creator_user,
            defaults={
                "handle": "demo",
                "display_name": "Demo Creator",
                "bio": "Cooking live every evening.",
                "category": "Food",
                "status": Creator.Status.APPROVED,
            },
        )
        # The demo creator is made approved without the approval service: open its diamond account.
        services.open_diamond_accounts(user_ids=[creator_user.pk])
        if not LiveSession.objects.filter(creator=creator, status=LiveSession.Status.LIVE).exists():
            rose = Gift.objects.get(name="Rose")
            LiveSession.objects.create(
                creator=creator, title="Late-night ramen", goal_gift=rose, goal_count=1000
            )
        staff = User.objects.filter(email=STAFF_EMAIL).first()
        if staff is None:
            staff = User.objects.create_superuser(STAFF_EMAIL, DEMO_PASSWORD, display_name="Demo Staff")

        self.stdout.write(self.style.SUCCESS(f"Demo data ready. Logins (password for all: {DEMO_PASSWORD}):"))
        self.stdout.write(f"  viewer   {VIEWER_EMAIL}  ({selectors.coin_balance(user_id=viewer.pk)} coins)")
        self.stdout.write(f"  creator  {CREATOR_EMAIL}  (@{creator.handle}, live now)")
        self.stdout.write(f"  staff    {STAFF_EMAIL}  (admin at /admin/)")

        # Staff with least privilege, one per group the wallet migrations create: a moderator, a
        # finance user (refunds, adjustment requests), an approver (adjustments, payout batches)
        # and a payout account verifier.
        from django.contrib.auth.models import Group

        from wallet.moderation.groups import FINANCE, FINANCE_APPROVER, MODERATOR, PAYOUT_VERIFIER

        for email, name, group_name in [
            ("moderator@demo.coinsite", "Demo Moderator", MODERATOR),
            ("finance@demo.coinsite", "Demo Finance", FINANCE),
            ("approver@demo.coinsite", "Demo Approver", FINANCE_APPROVER),
            ("verifier@demo.coinsite", "Demo Verifier", PAYOUT_VERIFIER),
        ]:
            member = self._user(email, display_name=name, is_staff=True, role=User.Role.STAFF)
            member.groups.add(Group.objects.get_or_create(name=group_name)[0])
            self.stdout.write(f"  {group_name.lower():<8} {email}  (admin at /admin/, {group_name} group)")
