"""Viewers and creators for the drills, funded through the wallet service."""

from __future__ import annotations

import datetime
import uuid
from dataclasses import dataclass

from wallet.models import User


@dataclass
class People:
    viewers: list[User]
    creators: list[User]
    funded: int


def people(*, viewers: int, creators: int, coins_each: int) -> People:
    from wallet import services

    tag = uuid.uuid4().hex[:8]
    dob = datetime.date(1990, 1, 1)
    vs = [
        User.objects.create_user(f"drill-v-{tag}-{i}@drill.local", None, date_of_birth=dob)
        for i in range(viewers)
    ]
    cs = [
        User.objects.create_user(f"drill-c-{tag}-{i}@drill.local", None, date_of_birth=dob)
        for i in range(creators)
    ]
    for v in vs:
        services.issue_coins(user=v, coins=coins_each, idempotency_key=f"drill-fund-{v.pk}")
    # Drill creators are made without the approval service: open their diamond accounts here.
    services.open_diamond_accounts(user_ids=[c.pk for c in cs])
    return People(viewers=vs, creators=cs, funded=coins_each)
