"""Fixtures for the creators tests: approved creators made through the onboarding services,
posts, merch, and a private MEDIA_ROOT per test."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from creators import services
from creators.models import Creator, MerchItem, Post
from creators.services import ShippingAddress
from wallet.models import User

ADDRESS = ShippingAddress(
    name="Ada Viewer", line1="1 Main St", city="Springfield", postcode="12345", country="US"
)
ADDRESS_FORM = {
    "ship_name": "Ada Viewer",
    "ship_line1": "1 Main St",
    "ship_line2": "",
    "ship_city": "Springfield",
    "ship_region": "",
    "ship_postcode": "12345",
    "ship_country": "us",
}


@pytest.fixture(autouse=True)
def media_root(settings: Any, tmp_path: Path) -> Path:
    root = tmp_path / "media"
    settings.MEDIA_ROOT = root
    return root


@pytest.fixture
def staff(make_user: Callable[..., Any]) -> User:
    return make_user(is_staff=True, is_superuser=True, role=User.Role.STAFF)


@pytest.fixture
def make_creator(make_user: Callable[..., Any], staff: User) -> Callable[..., Creator]:
    """A viewer who applied and was approved by staff (so they have the creator role and a diamond account)."""

    def make(handle: str | None = None, **user_fields: Any) -> Creator:
        user = make_user(**user_fields)
        creator = services.apply_for_creator(
            user=user,
            display_name=f"Creator {user.pk}",
            handle=handle or f"creator-{user.pk}",
            bio="Making things.",
            category="Art",
        )
        return services.approve_creator(creator_id=creator.pk, decided_by=staff)

    return make


@pytest.fixture
def make_post() -> Callable[..., Post]:
    def make(creator: Creator, *, price: int = 100, **fields: Any) -> Post:
        defaults: dict[str, Any] = {
            "title": "Behind the scenes",
            "teaser": "A peek.",
            "premium_body": "The whole story.",
        }
        defaults.update(fields)
        return services.publish_post(creator=creator, price_coins=price, **defaults)

    return make


@pytest.fixture
def make_item() -> Callable[..., MerchItem]:
    def make(creator: Creator, *, price: int = 300, stock: int = 10, name: str = "Hoodie") -> MerchItem:
        return services.create_merch_item(
            creator=creator, name=name, description="Warm.", price_coins=price, stock=stock
        )

    return make
