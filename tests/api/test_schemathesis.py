"""Property-based tests of the whole API against its own OpenAPI schema (schemathesis, in
process through the WSGI app, signed in as an adult viewer with a DRF token).

The studio's operations run as the owning creator instead (a viewer only gets 403 there, which
the authorization matrix covers). Every operation gets SCHEMATHESIS_EXAMPLES generated cases (default 20 in `make test`; run
with 100+ for the full check), positive and negative, with schemathesis' default checks: no
server errors, status codes, content types and bodies as documented, schema-invalid input
refused. On top: any request answered 4xx leaves the ledger exactly as it was, and the ledger
invariant check is clean at the end. Generated ids are often mapped onto the world's real
objects so the happy paths run too, not only 404s.

A per-operation summary (cases, statuses) is written to test-results/schemathesis-summary.json."""

from __future__ import annotations

import json
import os
from collections import Counter, defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from rest_framework.authtoken.models import Token
from schemathesis.specs.openapi.checks import positive_data_acceptance

from creators import services as creator_services
from tests.api.conftest import SHIPPING, World, ledger_snapshot
from wallet import services as wallet_services
from wallet.purchases import checkout

EXAMPLES = int(os.environ.get("SCHEMATHESIS_EXAMPLES", "20"))
SUMMARY = Path(__file__).resolve().parents[2] / "test-results" / "schemathesis-summary.json"

_calls: dict[str, Counter[int]] = defaultdict(Counter)


class _Known:
    """Ids of the world's objects by path template and body field (filled by the fixture)."""

    paths: dict[str, list[Any]] = {}
    fields: dict[str, list[Any]] = {}
    token = ""
    studio_token = ""


@pytest.fixture
def fuzz_world(world: World, transactional_db: None, stripe_settings: Any, settings: Any) -> Iterator[World]:
    # Limits off: the point is what the endpoints do with any input, not the throttles.
    rest = dict(settings.REST_FRAMEWORK)
    rest["DEFAULT_THROTTLE_RATES"] = dict.fromkeys(rest["DEFAULT_THROTTLE_RATES"])
    settings.REST_FRAMEWORK = rest
    settings.ACCOUNT_RATE_LIMITS = False
    import uuid

    purchases = [
        world.purchase.pk,
        *(
            checkout.start_purchase(
                user=world.viewer, idempotency_key=str(uuid.uuid4()), package_id=world.package.pk
            ).pk
            for _ in range(3)
        ),
    ]
    orders = [world.order.pk]
    for n in range(3):
        orders.append(
            creator_services.place_order(
                buyer=world.viewer,
                item_id=world.item.pk,
                quantity=1,
                shipping=creator_services.ShippingAddress(**SHIPPING),
                idempotency_key=f"fuzz-order-{n:04d}",
            ).order.pk
        )
    posts = [
        world.post.pk,
        creator_services.publish_post(
            creator=world.creator, title="Free", teaser="", premium_body="", price_coins=0
        ).pk,
    ]
    _Known.paths = {
        "/api/v1/coins/purchases/{id}/": purchases,
        "/api/v1/coins/purchases/{id}/confirm/": purchases,
        "/api/v1/live/{id}/": [world.session.pk],
        "/api/v1/live/{id}/gifts/": [world.session.pk],
        "/api/v1/posts/{id}/": posts,
        "/api/v1/posts/{id}/gifts/": posts,
        "/api/v1/posts/{id}/unlock/": posts,
        "/api/v1/merch/{id}/": [world.item.pk],
        "/api/v1/merch/{id}/orders/": [world.item.pk],
        "/api/v1/orders/{id}/": orders,
        "/api/v1/orders/{id}/cancel/": orders,
        "/api/v1/studio/orders/{id}/ship/": orders,
        "/api/v1/creators/{handle}/": [world.creator.handle],
    }
    from gifts.models import Gift

    _Known.fields = {
        "gift": list(Gift.objects.values_list("pk", flat=True)),
        "package": [world.package.pk],
        "payment_method": ["pm_card_visa", "pm_card_mastercard"],
        "email": [world.viewer.email],
    }
    _Known.token = Token.objects.create(user=world.viewer).key
    # The studio's endpoints are fuzzed as their owner (as a viewer they are a 403: the matrix).
    _Known.studio_token = Token.objects.create(user=world.owner).key
    yield world
    check = wallet_services.run_ledger_check()
    assert check.ok, check.problems
    _write_summary()


def _load_schema() -> Any:
    # Loaded at collection (schemathesis' lazy fixture loader does not work with pytest 9's
    # node ids); serving /api/schema/ touches no database.
    from coinsite.wsgi import application

    return schemathesis.openapi.from_wsgi("/api/schema/?format=json", application)


schema = _load_schema()


def _pick(known: list[Any], value: Any) -> Any:
    # Two generated values in three become a real object's id (of the same type); the rest stay.
    if not known or type(value) is not type(known[0]):
        return value
    index = value if isinstance(value, int) else len(value)
    return known[index % len(known)] if index % 3 != 0 else value


def _aim_at_the_world(case: Any) -> None:
    """Swap some generated ids for real ones, in positive cases only (a negative case must stay
    schema-invalid, or a 2xx for it would be reported as accepting bad input)."""
    if case.meta is None or not case.meta.generation.mode.is_positive:
        return
    template = case.operation.path
    for name, value in list(case.path_parameters.items()):
        if template in _Known.paths:
            case.path_parameters[name] = _pick(_Known.paths[template], value)
    if isinstance(case.body, dict):
        for field, known in _Known.fields.items():
            if field in case.body:
                case.body[field] = _pick(known, case.body[field])


def schema_valid_input_passes_validation(ctx: Any, response: Any, case: Any) -> bool | None:
    """A schema-valid request must get past the serializers: a 400 listing `extra.fields` for
    it means the server validates more strictly than the schema says. (Replaces schemathesis'
    `positive_data_acceptance`, which also counts domain refusals of well-formed requests, such
    as an unknown gift id, a free post to unlock or wrong credentials, as failures.)"""
    meta = case.meta
    if meta is None or not meta.generation.mode.is_positive or response.status_code != 400:
        return None
    try:
        body = json.loads(response.content)
    except ValueError:
        return None
    if isinstance(body, dict) and isinstance(body.get("extra"), dict) and "fields" in body["extra"]:
        raise AssertionError(f"schema-valid request refused by validation: {body['message']}")
    return None


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    database=None,
)
def test_the_api_honours_its_schema_and_rejections_move_nothing(case: Any, fuzz_world: World) -> None:
    _aim_at_the_world(case)
    before = ledger_snapshot()
    token = _Known.studio_token if case.operation.path.startswith("/api/v1/studio/") else _Known.token
    response = case.call_and_validate(
        headers={"Authorization": f"Token {token}"},
        excluded_checks=[positive_data_acceptance],
        additional_checks=[schema_valid_input_passes_validation],
    )
    _calls[case.operation.label][response.status_code] += 1
    if 400 <= response.status_code < 500:
        assert ledger_snapshot() == before, (case.operation.label, response.status_code, response.text[:300])


def _write_summary() -> None:
    SUMMARY.parent.mkdir(parents=True, exist_ok=True)
    summary = {
        "examples_setting": EXAMPLES,
        "operations": {
            label: {"cases": sum(statuses.values()), "statuses": dict(sorted(statuses.items()))}
            for label, statuses in sorted(_calls.items())
        },
    }
    SUMMARY.write_text(json.dumps(summary, indent=2))
