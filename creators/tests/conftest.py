"""Fixtures for the creators tests: posts and merch made through the services, a shipping
address, and a private MEDIA_ROOT per test (creators come from the root `make_creator`)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from creators import services
from creators.models import Creator, MerchItem, Post
from creators.services import ShippingAddress

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
